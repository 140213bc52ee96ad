# Two set-up commands: `make up` starts the gateway, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: up test bench check mutants clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# the gateway alone
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# the gateway, the PostgreSQL and Redis clients and the test tools
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[postgres,redis,test]'
	touch $@ $(VENV)/.installed-run

# Ctrl-C (or SIGTERM) stops the gateway cleanly: `tappass up` then exits 0, and should it
# ever die of the signal, the shell (which outlives it) still exits 0, so make prints no
# `*** [up] Interrupt` or `Terminated` line; any other failure keeps its exit code.
up: $(VENV)/.installed-run
	@trap : INT TERM; $(BIN)/tappass up $(ARGS); code=$$?; \
	if [ $$code -eq 130 ] || [ $$code -eq 143 ]; then exit 0; fi; exit $$code

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q $(ARGS)

check: $(VENV)/.installed-test
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/ruff check src/tappass
	$(BIN)/mypy

# mutation testing of the access, blocking, spending and audit modules (not part of `make test`;
# minutes): configured under [tool.mutmut] in pyproject.toml, scored by tests/mutation/report.py
MUTMUT_VERSION ?= 3.8.1
mutants: $(VENV)/.installed-test
	$(BIN)/pip install -q 'mutmut==$(MUTMUT_VERSION)'
	TAPPASS_TEST_TIMEOUT=15 $(BIN)/mutmut run $(ARGS) > $(VENV)/mutmut-run.log 2>&1 || (tail -40 $(VENV)/mutmut-run.log; exit 1)
	$(BIN)/python tests/mutation/report.py

bench: $(VENV)/.installed-test
	@$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache mutants
