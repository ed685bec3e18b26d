# Every target creates the local virtual environment on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup baseline test test-fast lint validate benchmark notebooks viz clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[all]"
	$(BIN)/python -m abm.viz.assets
	touch $(STAMP)

setup: $(STAMP)

baseline: $(STAMP)
	$(BIN)/abm run configs/baseline.toml

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

# the fast tier (under a minute): everything but tests marked slow, the browser and the notebooks
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -m "not slow and not browser" --ignore=tests/notebooks

viz: $(STAMP)
	$(BIN)/abm viz

# executed notebooks, and HTML for readers without Jupyter, in results/notebooks/ (not in git)
notebooks: $(STAMP)
	$(BIN)/python notebooks/run_all.py

validate: $(STAMP)
	$(BIN)/abm validate
	$(BIN)/abm validate --hypotheses

benchmark: $(STAMP)
	$(BIN)/python benchmarks/benchmark.py
	$(BIN)/python benchmarks/sweep_benchmark.py
	$(BIN)/python benchmarks/viz_frame.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
