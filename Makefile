# make demo   set up .venv and run the whole workflow offline on the demo corpus
# make test   set up .venv and run the test suite
# make bench  speed benchmark on a real corpus (see BENCHMARKS.md)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast bench clean-results

setup: $(STAMP)

# torch is pinned (torch==2.13.0, CPU wheel) in pyproject.toml: an unpinned torch pulls a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test,slurm]"
	touch $(STAMP)

demo: setup
	HF_HUB_OFFLINE=1 $(BIN)/snakemake --cores $(CORES) --configfile config/demo.yaml
	@echo "Tables: results/tables/*.md   Figures: results/figures/*.png"

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

test-fast: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow"

BENCH_ARGS ?=

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean-results:
	rm -rf results/* .snakemake
	touch results/.gitkeep
