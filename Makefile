# Two commands: `make run` (demo workspace + main job) and `make test` (whole suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat constraints.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint bench clean-demo lock

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	rm -f $(VENV)/.installed-*; touch $(STAMP)

run: $(STAMP)
	$(BIN)/nrmc demo --if-missing
	$(BIN)/nrmc start

# One worker per core; a module's tests stay together on one worker, in order (they share
# module fixtures such as a live server). `pytest -n 0 …` runs in one process.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadscope

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

lock: $(BIN)/python
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt
