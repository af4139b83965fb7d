# Two commands do all the set-up (see README.md):
#   make demo   installs everything (venv, package with extras, Graphviz, Chromium) and runs the demo
#   make test   runs the whole test suite: ruff, mypy and pytest (notebooks and browser test included)
#   make notebooks  opens the lessons in JupyterLab (as root too)
.PHONY: demo test setup lint bench clean notebooks

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

notebooks: $(STAMP)
	bash scripts/notebooks.sh

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
