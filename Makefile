# stancekit developer commands. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out/sample

.PHONY: run test test-fast test-min floors venv clean bench eval-quotes eval-stance

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

# the suite without the tests that load the real models (marked slow)
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# the fast suite in a fresh venv with every dependency at the lower bound of pyproject.toml
# (ci/floors.txt, from ci/floors.py; torch is the same CPU wheel as above)
MIN_VENV ?= .venv-min
floors:
	$(PYTHON) ci/floors.py

test-min:
	$(PYTHON) ci/floors.py --check || (echo "ci/floors.txt is out of date: run make floors" && exit 1)
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install -q --upgrade pip
	$(MIN_VENV)/bin/python -m pip install -q torch==2.13.0
	$(MIN_VENV)/bin/python -m pip install -q -c ci/floors.txt -e ".[dev]"
	$(MIN_VENV)/bin/python -m pip list --format=freeze > $(MIN_VENV)/installed.txt
	$(MIN_VENV)/bin/python -m pytest -q -m "not slow" -p no:cacheprovider

bench: $(STAMP)
	$(VENV)/bin/stancekit bench stance --n 512 --json benchmarks/results/bench_stance_cpu.json

clean:
	rm -rf $(VENV) $(MIN_VENV) out .pytest_cache
