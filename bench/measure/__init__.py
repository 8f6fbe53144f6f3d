"""A sweep, from cases to results: what is measured (`cases`, `protocol`: the runner's records),
where (`targets`: boards reached once, clusters and CPUs resolved once), how (`deploy`: one runner
on one cluster, `farm`: many boards in parallel, `sweep`: the whole run), what is kept (`results`),
how far to trust it (`health`) and how exact the kernels are (`accuracy`). Imports boards, native,
numerics and the base modules."""
