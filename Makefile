# Two commands do all set-up on a fresh machine:
#   make train   creates .venv, installs, trains CartPole-v1 (4 seeds), prints and plots
#   make test    creates .venv, installs, runs the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= dev

.PHONY: train test bench install clean


$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(PY) -m purejaxppo train --env CartPole-v1 --total-timesteps 500000 --seeds 4 --out runs/cartpole --overwrite

test: $(STAMP)
	$(PY) -m pytest -n 2 --durations=15 -q --timeout=1200

bench: $(STAMP)
	$(PY) benchmarks/throughput.py --out results/throughput.json

clean:
	rm -rf $(VENV) runs results .pytest_cache

# Benchmarks and notebooks (issue #6). Results land in benchmarks/results/.
.PHONY: bench-learning bench-learning-continuous bench-learning-quick bench-sweep bench-pytorch bench-purejaxrl notebooks
bench-learning-quick: $(STAMP)
	$(PY) benchmarks/learning.py --quick --out-dir benchmarks/results/learning_quick
bench-learning-continuous: $(STAMP)
	$(PY) benchmarks/learning.py --continuous --env-timeout 3000 --out-dir benchmarks/results/learning_continuous
bench-learning: $(STAMP)
	$(PY) benchmarks/learning.py --out-dir benchmarks/results/learning
bench-sweep: $(STAMP)
	$(PY) benchmarks/throughput.py --sweep all --out benchmarks/results/throughput_sweep.json
bench-pytorch: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/vs_pytorch.py --out benchmarks/results/vs_pytorch.json
# Side by side with purejaxrl: make bench-purejaxrl PUREJAXRL=/path/to/purejaxrl-checkout
bench-purejaxrl: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/vs_purejaxrl.py --purejaxrl "$(PUREJAXRL)" --out benchmarks/results/vs_purejaxrl.json
notebooks: $(STAMP)
	$(PY) notebooks/make_notebooks.py
