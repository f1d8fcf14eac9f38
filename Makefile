# The README's two commands: `make demo` and `make test`. Both build .venv from the
# project's own files on a fresh machine; later runs reuse it until pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-slow bench report clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,plot]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spinglass-nets demo --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

report: $(STAMP)
	$(BIN)/spinglass-nets report -o report --overwrite

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_metropolis.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
