# LinX: `make run` serves the demo; `make test` runs the whole suite. Both start from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
HOST   ?= 127.0.0.1
export LINX_ENV ?= development
export LINX_PUBLIC_URL ?= http://$(HOST):$(PORT)

.PHONY: run test test-fast lint bench install check-rules clean translations compile

$(STAMP): setup.cfg pyproject.toml tests/sample_plugin/pyproject.toml tests/rtp_plugin/pyproject.toml \
          tests/verify_email_step/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m pip install --quiet -e tests/sample_plugin
	$(BIN)/python -m pip install --quiet -e tests/rtp_plugin
	$(BIN)/python -m pip install --quiet -e tests/verify_email_step
	touch $(STAMP)

install: $(STAMP)

# The Gateway's words: `make translations` extracts the ids (babel.cfg) and adds the new ones to each
# catalog for a translator; `make compile` builds the .mo files read at run time (not committed).
I18N     := gateway_app/translations
PO_FILES := $(wildcard $(I18N)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --sort-by-file --add-location=file --no-wrap \
	  --project LinX --copyright-holder "LinX contributors" -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) --no-wrap --ignore-pot-creation-date

compile: $(MO_FILES)

$(I18N)/%/LC_MESSAGES/messages.mo: $(I18N)/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

# the LINX_* settings it runs with go to instance/linx.env too, so that a `linx` command pasted from the README
# into a new shell in this folder uses them (linx_core/devfile.py: only in development, only from this folder)
run: $(STAMP) compile
	@$(BIN)/python -m linx_core.devfile instance/linx.env
	@$(BIN)/linx init --demo --json > $(VENV)/demo.json
	@$(BIN)/python -m linx_core.banner $(VENV)/demo.json
	$(BIN)/linx serve --host $(HOST) --port $(PORT)

# the whole suite, then the lint: CI (.ci/run) runs this, so a finding fails the build as a test would
test: $(STAMP) compile
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory lint

# the unit tests alone (SQLite; no real process, server, browser or fuzzing campaign: the `system` marker in
# setup.cfg), on every core, in under a minute
test-fast: $(STAMP) compile
	$(BIN)/python -m pytest -m "not system" -n auto $(PYTEST_ARGS)

# ruff on the whole tree (rules in pyproject.toml), mypy on linx_core (every function typed); both clean
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy linx_core

# make bench [BENCHES="create worker"] [BENCH_ARGS="--backend sqlite --quick"]: every benchmark, or those named
BENCHES    ?= lifecycle create worker gateway e2e memory
BENCH_ARGS ?=
bench: $(STAMP)
	@command -v wrk >/dev/null || $(BIN)/python -c 'import sys; sys.path.insert(0, "bench"); import loadgen; loadgen.ensure_wrk()'
	@for b in $(BENCHES); do \
	  if [ $$b = lifecycle ]; then $(BIN)/python bench/bench_lifecycle.py || exit 1; \
	  else $(BIN)/python bench/bench_$$b.py $(BENCH_ARGS) || exit 1; fi; \
	done

check-rules: $(STAMP)
	$(BIN)/linx rules check

clean:
	rm -rf $(VENV) build *.egg-info $(MO_FILES)
