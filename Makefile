# The two quick-start commands: `make run` (the main job on this machine) and `make test` (the suite).
.PHONY: setup run test

setup:
	@scripts/setup.sh

# A quick real sweep on this machine: ResNet-18 CIFAR layers (width 0.5), every algo x transform x
# bit width, then the NAS lookup table, the plots and the whole-network table, all under tables/latest/
# (asked for with --out: a command reading results writes into them only when told to).
run:
	@scripts/setup.sh run
	.venv/bin/bench run --preset quick
	.venv/bin/bench lut tables/latest --out tables/latest
	.venv/bin/bench plot tables/latest --out tables/latest/plots
	.venv/bin/bench network tables/latest --preset quick --out tables/latest/network

test: setup
	.venv/bin/python -m pytest
