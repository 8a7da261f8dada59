# Two commands on a fresh machine: `make run` (the current budget cycle's reports for Landskrona)
# and `make test`. Both create .venv and install on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CYCLE ?= 2027
STAMP := $(VENV)/.installed

.PHONY: run test lab lint setup clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/climateinvest report parameters/$(CYCLE)/*.yaml --out reports --jobs 2

test: $(STAMP)
	$(BIN)/python -m pytest -q

# JupyterLab lives in its own environment: installing it beside papermill makes every
# notebook start about three times slower (rfc3987-syntax; see DESIGN.md section 8).
lab: $(STAMP)
	test -x .venv-lab/bin/jupyter || ($(PY) -m venv .venv-lab && .venv-lab/bin/pip install --quiet -e '.[lab]')
	.venv-lab/bin/jupyter lab notebooks/

lint: $(STAMP)
	$(BIN)/ruff check climateinvest tests benchmarks

clean:
	rm -rf $(VENV) .venv-lab
