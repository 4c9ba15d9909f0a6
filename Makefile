# The course's commands. `make book` builds the website; `make test` runs every test.
# Both create .venv and install the exact pins (requirements.txt) and the `book` package first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: help setup assets book site-en site-zh student-book student-notebooks test unit lint notebooks serve clean
help:
	@echo "make book       build the website into _build/html (the Chinese edition into _build/html/zh)"
	@echo "make test       lint, unit tests, nbval on every notebook, site build, browser checks"
	@echo "make unit       the fast tier: the package's tests, no slow training, no site, no browser"
	@echo "make lint       ruff over the package, tests, tools, benchmarks and notebooks"
	@echo "make student-book  the same site without the solutions, into _build/student"
	@echo "make student-notebooks  the chapters as students get them, into _build/student/notebooks"
	@echo "make notebooks  re-execute every notebook in place (commit the outputs)"
	@echo "make serve      serve the built site on http://127.0.0.1:$(PORT)"
	@echo "make setup      only create .venv and install the pins and the package"

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@$(PY) -c "import torch; print('installed; torch', torch.__version__)"
	@touch $@

setup: $(VENV)/.installed

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

assets/static/vendor/.copied: node_modules/.package-lock.json tools/vendor_assets.py
	$(PY) tools/vendor_assets.py
	@touch $@

assets: setup assets/static/vendor/.copied

# The two editions build at once (each Sphinx build uses one core).
book: setup assets
	$(MAKE) --no-print-directory -j2 site-en site-zh
	@echo
	@echo "The website is in _build/html. Open it with 'make serve' (diagrams need http://),"
	@echo "or open _build/html/index.html in a browser."

site-en: setup assets
	$(VENV)/bin/jupyter-book build . --builder html -W -n --keep-going

# The English messages (one catalog per page), then the Chinese site from locales/, with the
# share of each page that is translated (tools/translations.py, locales/README.md).
site-zh: setup assets
	$(PY) tools/translations.py extract
	$(PY) tools/translations.py build

student-book: setup assets
	$(PY) tools/student_edition.py

student-notebooks: setup
	$(PY) tools/student_edition.py --notebooks

lint: setup
	$(VENV)/bin/ruff check book tests tools benchmarks chapters solutions conftest.py

# Two test workers on two cores, one thread each: with more threads than cores, torch's and
# OpenBLAS's threads wait for each other, and a notebook's training ran 30 times slower.
# The files run longest first (tests/time_budgets.py), in that order (--no-loadscope-reorder).
ONE_THREAD := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PYTEST_2 := $(ONE_THREAD) $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder

unit: setup
	$(PYTEST_2) -m "not slow and not browser and not site" tests

test: lint assets
	$(MAKE) --no-print-directory -j2 site-en site-zh student-book
	$(PYTEST_2) --durations=20 tests \
		--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg chapters solutions

notebooks: setup
	$(PY) tools/execute_notebooks.py

serve:
	$(PY) tools/serve.py --port $(PORT) _build/html

clean:
	rm -rf _build assets/static/vendor
