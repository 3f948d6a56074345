# semsim: two commands set everything up on a fresh machine.
#   make test          -> virtualenv + install + default (fast) test suite
#   make run           -> virtualenv + install + the main experiment
#   make run DATA=PATH -> same, with a local copy of CIFAR-10 (no download)
#
# Shared machines: OpenMP threads sleep instead of spinning while they wait (OMP_WAIT_POLICY),
# and THREADS caps the threads of torch/OpenMP/BLAS (default: the CPUs this process may use).
# Override either: `make run THREADS=1`, `OMP_WAIT_POLICY=ACTIVE make run`.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
TORCH  ?= torch==2.14.1 torchvision==0.29.1
# the extras `make install` adds (dev = test tools + every optional feature the tests exercise)
EXTRAS ?= dev

EXPERIMENT ?= cifar10_cpu
DATA ?=
ARGS ?=
RUN_DATA := $(if $(DATA),data.root=$(DATA),)

THREADS ?= $(shell nproc 2>/dev/null || echo 2)
export OMP_WAIT_POLICY ?= PASSIVE
export OMP_NUM_THREADS ?= $(THREADS)
export MKL_NUM_THREADS ?= $(THREADS)
export OPENBLAS_NUM_THREADS ?= $(THREADS)

.PHONY: install test test-full lint format run smoke bench clean docs numbers screenshots dist

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

test: install
	$(PY) -m pytest -q

test-full: install
	$(PY) -m pytest -q -m 'not gpu'

lint: install
	$(PY) -m ruff check semsim tests bench
	$(PY) -m ruff format --check semsim tests bench

format: install
	$(PY) -m ruff format semsim tests bench
	$(PY) -m ruff check --fix semsim tests bench

# without DATA: one line `make run DATA=PATH` (and nothing created) when the data is neither under
# ./data nor downloadable; ends by printing the test accuracy, the similarity headline numbers and
# the run folder
run: install
	@$(PY) -c 'from semsim.cli import check_make_run; check_make_run("$(EXPERIMENT)", "$(DATA)")'
	$(PY) -m semsim.train experiment=$(EXPERIMENT) $(RUN_DATA) $(ARGS)

smoke: install
	$(PY) -m semsim.train experiment=smoke $(ARGS)

# docs: the mkdocs-material site from docs/ into site/ (offline; --strict fails on dead links);
# numbers: rerun the number writers (the fast ones; NUMBERS=name... or NUMBERS=all), refill the
# README/docs regions from docs/generated/ and check them (docs/numbers.md);
# screenshots: docs/img/html_*.png from the current code (Chromium; SHOTS_DATA holds cifar10/, cifake/)
NUMBERS ?=
SHOTS_DATA ?= ../shared/data

docs: install
	@$(PY) -c 'import material' 2>/dev/null || $(PIP) install -q 'mkdocs-material>=9.5'
	$(PY) -m mkdocs build --strict

numbers: install
	$(PY) docs/measured.py run $(NUMBERS)

screenshots: install
	PYTHONPATH=$(CURDIR) $(PY) docs/screenshots.py --data $(SHOTS_DATA)

# the sdist and the wheel (the wheel carries conf/ as semsim/conf) in dist/
dist: install
	$(PY) -m build --no-isolation --outdir dist .

clean:
	rm -rf $(VENV) outputs logs site .pytest_cache .ruff_cache build dist
