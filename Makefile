# Multi-Task Learning with TensorFlow: build, test and author the book.
#
#   make book       create .venv if needed, install, build the HTML book
#   make test       every test: helpers, nbval on each notebook, strict book
#                   build, the rendered pages in headless Chromium
#
# Also: make lab (JupyterLab on the notebooks), make execute (re-run every
# notebook and store its outputs), make student (student editions),
# make sync-repository (after changing repository.url in _config.yml),
# make lint, make benchmark, make clean.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test lab execute student sync-repository lint benchmark clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --quiet
	@echo "Open the book: file://$(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

execute: $(STAMP)
	$(BIN)/python -m mtl_helpers.authoring execute notebooks/*.ipynb

student: $(STAMP)
	$(BIN)/python -m mtl_helpers.authoring student --out _build/student notebooks/*.ipynb

sync-repository: $(STAMP)
	$(BIN)/python -m mtl_helpers.authoring sync-repository notebooks/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check mtl_helpers tests benchmarks

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.training_loops

clean:
	rm -rf _build .pytest_cache test-artifacts
