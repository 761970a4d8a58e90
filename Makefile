# Two entry points (see README): `make run` and `make test`. Both set everything up first and
# are fast the second time: the environment is rebuilt only when pyproject.toml changes,
# models are prepared once, the index is updated incrementally.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The checkout keeps its models in models/ (an installed `rag` elsewhere defaults to the user's data folder).
export RAG_MODELS ?= $(CURDIR)/models

.PHONY: setup models index run test test-fast lint bench clean

$(STAMP): pyproject.toml scripts/install_llama.py
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: a looser request pulls several GB of CUDA wheels
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	# llama-cpp-python, compiled once for this CPU (AMX / AVX-512 / AVX2), then cached
	$(PY) scripts/install_llama.py
	touch $(STAMP)

setup: $(STAMP)

models: setup
	$(PY) -m rag prepare

index: models
	$(PY) -m rag build

run: index
	$(PY) -m rag serve

# Everything CI runs: lint, format and type checks first (seconds), then every test.
test: lint models
	sh scripts/install_browser.sh
	$(PY) -m pytest

# The edit-test loop: no real models, no browser, no servers, no subprocesses (about a minute).
test-fast: setup
	$(PY) -m pytest -m "not models and not browser and not server and not load and not process"

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: index
	$(PY) -m rag bench speed

clean:
	rm -rf index reports screenshots
