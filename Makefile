# The two quick-start commands: `make run` (the main job on this machine) and `make test` (the suite).
.PHONY: setup run test

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/bench transforms show --m 4

test: setup
	.venv/bin/python -m pytest
