# Multi-Task Learning with TensorFlow: build, test and author the book.
#
#   make book        create .venv if needed, install, build the HTML book
#   make test        every test: find or install a Chromium; then the helper
#                    unit tests beside the strict book build and the pages in
#                    headless Chromium; then nbval on each notebook and the
#                    student editions (two workers)
#
# Also: make lab (JupyterLab on the student editions, for students),
# make lab-author (JupyterLab on the chapters, solutions included),
# make execute (re-run every notebook and store its outputs),
# make student (student editions), make sync-repository (after changing
# repository.url in _config.yml or the package version), make lint,
# make benchmark, make clean.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STUDENT_DIR := _build/student

.PHONY: book test lab lab-author execute student sync-repository lint benchmark clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --quiet
	@echo "Open the book: file://$(CURDIR)/_build/html/index.html"

# tools/ensure_browser.py finds a Chromium, or installs one (Debian's package
# as root, else Playwright's); tools/run_tests.py runs the three pytest steps.
test: $(STAMP)
	$(BIN)/python tools/ensure_browser.py
	$(BIN)/python tools/run_tests.py

# Students: the student editions (solutions stubbed). Editions already in
# $(STUDENT_DIR) are kept, with the student's work in them.
lab: $(STAMP)
	$(BIN)/python tools/authoring.py student --keep-existing --out $(STUDENT_DIR) notebooks/*.ipynb
	$(BIN)/jupyter lab $(STUDENT_DIR)

# Authors: the chapters themselves, solutions and outputs included.
lab-author: $(STAMP)
	$(BIN)/jupyter lab notebooks/

execute: $(STAMP)
	$(BIN)/python tools/authoring.py execute notebooks/*.ipynb

student: $(STAMP)
	$(BIN)/python tools/authoring.py student --out $(STUDENT_DIR) notebooks/*.ipynb

sync-repository: $(STAMP)
	$(BIN)/python tools/authoring.py sync-repository notebooks/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check mtl_helpers tools tests benchmarks conftest.py

benchmark: $(STAMP)
	$(BIN)/python -m benchmarks.training_loops --json benchmarks/latest.json --readme README.md

clean:
	rm -rf _build .pytest_cache test-artifacts
