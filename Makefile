# Two commands on a fresh machine: `make run` (the current budget cycle's reports for Landskrona)
# and `make test`. Both create .venv and install on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CYCLE ?= 2027
RUN_ID := $(shell date +%Y%m%d-%H%M%S)
STAMP := $(VENV)/.installed
# JupyterLab lives in its own environment: installing it beside papermill makes every
# notebook start about three times slower (rfc3987-syntax; see docs/architecture.md section 7).
# Defined before any rule that names it: make expands prerequisites as it reads them.
LAB_STAMP := .venv-lab/.installed

.PHONY: run test test-fast lab lab-env lint typecheck setup clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[report,dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

setup: $(STAMP)

# A cycle built on an adopted plan (parameters/2028/) also gets its follow-up pages (followup/).
run: $(STAMP)
	$(BIN)/climateinvest report parameters/$(CYCLE)/*.yaml --out reports --jobs 2 --run-id $(RUN_ID)
	$(BIN)/climateinvest followup reports/$(CYCLE)/$(RUN_ID)

# The whole suite: what CI runs (the explorer's browser test needs JupyterLab's own environment).
test: $(STAMP) $(LAB_STAMP)
	$(BIN)/python -m pytest -q

# The everyday loop: everything but the notebook, batch, browser and interrupt runs.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

$(LAB_STAMP): pyproject.toml
	$(PY) -m venv .venv-lab
	.venv-lab/bin/pip install --quiet --upgrade pip
	.venv-lab/bin/pip install --quiet -e '.[lab]'
	# widget state is not saved into the notebook (a reopened explorer never says "model not found")
	mkdir -p .venv-lab/share/jupyter/lab/settings
	echo '{"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": false}}' > .venv-lab/share/jupyter/lab/settings/overrides.json
	# and a saved notebook keeps no widget view that could not be drawn again
	mkdir -p .venv-lab/etc/jupyter
	printf '%s\n' 'from climateinvest.report.explorer.lab_hooks import strip_widget_views' \
	  'c.ContentsManager.pre_save_hook = strip_widget_views' > .venv-lab/etc/jupyter/jupyter_server_config.py
	touch $(LAB_STAMP)

lab-env: $(LAB_STAMP)

lab: $(LAB_STAMP)
	.venv-lab/bin/jupyter lab --ServerApp.ip=127.0.0.1 $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) notebooks/

# Style and bugs (ruff), the import layers (import-linter), the doctests of finance, types of the core (mypy).
lint: $(STAMP)
	$(BIN)/ruff check climateinvest tests benchmarks
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q --doctest-modules climateinvest/finance.py -p no:cacheprovider

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .venv-lab
