# Two commands do all set-up on a fresh machine:
#   make train   creates .venv, installs the base package (gymnax envs only), trains
#                CartPole-v1 (4 seeds), prints and plots
#   make test    creates .venv, installs the `dev` extra (every env suite, loggers,
#                docs and packaging tools), runs the whole test suite
# Each install has its own stamp, so the two never undo each other: `make train` after
# `make test` only re-links the package, and `make test` after `make train` adds the
# extras. A stamp is redone when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BASE_STAMP := $(VENV)/.installed-base
DEV_STAMP := $(VENV)/.installed-dev
EXTRAS ?= dev

.PHONY: train test bench install docs docs-serve lint report clean

$(VENV)/.created:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	touch $@

$(BASE_STAMP): pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# `make install EXTRAS=brax,tensorboard` for any other combination (no stamp).
install: $(VENV)/.created
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"

train: $(BASE_STAMP)
	$(PY) -m purejaxppo train --env CartPole-v1 --total-timesteps 500000 --seeds 4 --out runs/cartpole --overwrite

test: $(DEV_STAMP)
	$(PY) -m pytest -n 2 --durations=15 -q --timeout=1200

# The documentation site: docs/ -> site/ (mkdocs.yml). `make test` builds it too
# (tests/test_docs_site.py), with --strict.
docs: $(DEV_STAMP)
	$(PY) -m mkdocs build --strict

docs-serve: $(DEV_STAMP)
	$(PY) -m mkdocs serve

# ruff (lint + format check) and mypy over purejaxppo/ (configured in pyproject.toml).
lint: $(DEV_STAMP)
	$(PY) -m ruff check purejaxppo
	$(PY) -m ruff format --check purejaxppo
	$(PY) -m mypy

# Re-render the results tables of README.md and docs/ from benchmarks/results/**/*.json.
report: $(BASE_STAMP)
	$(PY) benchmarks/report.py --write

bench: $(BASE_STAMP)
	$(PY) benchmarks/throughput.py --out results/throughput.json

clean:
	rm -rf $(VENV) runs results site dist build .pytest_cache

# Benchmarks and notebooks (issue #6). Results land in benchmarks/results/.
.PHONY: bench-learning bench-learning-continuous bench-learning-quick bench-sweep bench-pytorch bench-purejaxrl notebooks
bench-learning-quick: $(DEV_STAMP)
	$(PY) benchmarks/learning.py --quick --out-dir benchmarks/results/learning_quick
bench-learning-continuous: $(DEV_STAMP)
	$(PY) benchmarks/learning.py --continuous --env-timeout 3000 --out-dir benchmarks/results/learning_continuous
bench-learning: $(DEV_STAMP)
	$(PY) benchmarks/learning.py --out-dir benchmarks/results/learning
bench-sweep: $(BASE_STAMP)
	$(PY) benchmarks/throughput.py --sweep all --out benchmarks/results/throughput_sweep.json
bench-pytorch: $(BASE_STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/vs_pytorch.py --out benchmarks/results/vs_pytorch.json
# Side by side with purejaxrl: make bench-purejaxrl PUREJAXRL=/path/to/purejaxrl-checkout
bench-purejaxrl: $(BASE_STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/vs_purejaxrl.py --purejaxrl "$(PUREJAXRL)" --out benchmarks/results/vs_purejaxrl.json
notebooks: $(DEV_STAMP)
	$(PY) notebooks/make_notebooks.py
