# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint screenshots clean help

help:
	@echo "make run    set up .venv if needed and start the kiosk"
	@echo "make test   set up .venv with the test tools if needed and run the whole suite"

run: $(VENV)/.installed-run
	@scripts/system-packages.sh run
	$(BIN)/kiosk-app

test: $(VENV)/.installed-test
	@scripts/system-packages.sh test
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

screenshots: $(VENV)/.installed-test
	$(BIN)/python scripts/screenshots.py
	KIOSK_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/hq/test_dashboard_browser.py tests/hq/test_drive_pages_browser.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Interview Kiosk needs Python 3.11 or newer; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[test,hq]'
	@touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
