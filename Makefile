# Two commands do all the set-up (see README.md):
#   make demo   installs everything (venv, package with extras, Graphviz, Chromium) and runs the demo
#   make test   runs the whole test suite: ruff, mypy and pytest (notebooks and browser test included)
#   make notebooks  opens the lessons in JupyterLab (as root too)
#   make docs   builds the documentation site into site/ (mkdocs build --strict), playground included
#   make serve  builds it and serves site/ on http://127.0.0.1:8000/ (the playground needs http)
.PHONY: demo test setup lint bench clean notebooks docs serve

VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/scalargrad demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/python -m pytest

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

serve: docs
	@echo "serving site/ on http://127.0.0.1:8000/ (the playground: http://127.0.0.1:8000/playground.html); Ctrl-C stops"
	$(VENV)/bin/python -m http.server --bind 127.0.0.1 --directory site 8000

notebooks: $(STAMP)
	bash scripts/notebooks.sh

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/run.py

clean:
	rm -rf $(VENV) site .pytest_cache .hypothesis .mypy_cache .ruff_cache web/node_modules build/site-vendor
