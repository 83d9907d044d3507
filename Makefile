# The two commands of the README: `make run` (the product on real data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

export MLFLOW_DISABLE_TELEMETRY ?= true
export DO_NOT_TRACK ?= true

.PHONY: run test install install-test lint benchmarks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	@echo "Installing the pinned requirements into $(VENV) (a minute or two the first time)"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	@echo "Installing the pinned requirements and test tools into $(VENV)"
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: $(VENV)/.installed
	$(BIN)/python -m training.quickstart $(ARGS)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

benchmarks: $(VENV)/.installed-test
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/predict.py
	$(BIN)/python benchmarks/dashboard.py
