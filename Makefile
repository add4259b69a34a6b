# stancekit developer commands. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out/sample

.PHONY: run test venv clean bench eval-quotes eval-stance

venv: $(STAMP)

# CPU torch first (a plain `torch` requirement could pull a multi-GB CUDA build), then the project.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/stancekit run corpora/sample/articles --out $(OUT) --target certification --force

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/stancekit bench stance --n 512 --json benchmarks/results/bench_stance_cpu.json

clean:
	rm -rf $(VENV) out .pytest_cache
