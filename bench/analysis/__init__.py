"""What results directories say, without measuring anything: the NAS lookup table (`lut`), the
latency model of unmeasured layers (`predict`, on the stage work of `workload`), whole networks
(`network`), before/after comparisons (`compare`) and the figures (`plots`). Reads results through
bench.measure.results only; imports numerics and the base modules."""
