# make demo   set up .venv and run the whole workflow offline on the demo corpus
# make test   set up .venv and run the test suite
# make test-fast  tests/unit/ only (under a minute)
# make lint   snakemake --lint (default and demo config), snakefmt --check, ruff check
# make bench  speed benchmark on a whole real training split, 3 interleaved repeats, raw JSON in
#             benchmarks/results/ (see BENCHMARKS.md; on a 2-core CPU: BENCH_ARGS="--sentences 100")
# make reference  the paper's design on 8 of its own HUNER tasks (docs/reference/)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint bench reference clean-results

setup: $(STAMP)

# torch is pinned (torch==2.13.0, CPU wheel) in pyproject.toml: an unpinned torch pulls a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test,slurm,lint]"
	touch $(STAMP)

demo: setup
	HF_HUB_OFFLINE=1 $(BIN)/snakemake --cores $(CORES) --configfile config/demo.yaml
	@echo "Tables: results/tables/*.md   Figures: results/figures/*.png"

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# tests/unit/ only: no subprocess, no training run (the tiers: docs/development.md)
test-fast: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest tests/unit

# Fails on any finding. Formatting: `$(BIN)/snakefmt <file>` rewrites a rule file in place;
# `$(BIN)/ruff check --fix <file>` fixes what it can (settings in pyproject.toml).
SNAKEFILES := Snakefile $(wildcard workflow/rules/*.smk) tests/huner/Snakefile

lint: setup
	$(BIN)/ruff check src tests benchmarks ci
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit/test_import_layers.py  # stages import downward, no cycles
	$(BIN)/ruff format --check src tests benchmarks ci
	$(BIN)/snakefmt --check $(SNAKEFILES)
	$(BIN)/snakemake --lint --configfile config.yaml
	$(BIN)/snakemake --lint --configfile config/demo.yaml

BENCH_ARGS ?=

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# HUNER_MIRROR: a folder laid out as <host>/<path> of the download URLs, served on 127.0.0.1
# while the workflow runs (no internet needed); empty: download from the real URLs.
HUNER_MIRROR ?= $(wildcard ../shared/huner-mirror)
REFERENCE_CONFIG ?= config/reference-cpu.yaml
REFERENCE_RUN = $(BIN)/snakemake --cores $(CORES) --keep-going --configfile $(REFERENCE_CONFIG)

reference: setup
ifneq ($(strip $(HUNER_MIRROR)),)
	HF_HUB_OFFLINE=1 $(BIN)/python -m mtlner.data.mirror $(HUNER_MIRROR) -- $(REFERENCE_RUN)
else
	$(REFERENCE_RUN)
endif
	$(BIN)/mtlner reference --results results --out-dir docs/reference --title "Reference run ($(REFERENCE_CONFIG))" --notes docs/reference/notes.md
	@echo "Page: docs/reference/README.md"

clean-results:
	rm -rf results/* .snakemake
	touch results/.gitkeep
