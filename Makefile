# LinX: `make run` serves the demo; `make test` runs the whole suite. Both start from a fresh clone.
PYTHON ?= python3
# Two environments: `make run` serves from .venv, which holds LinX and its own plugins only, so that its rules,
# its OpenAPI document and its Gateway show the real solutions and channels; `make test` (and test-fast, lint,
# bench) run in .venv-test, which also holds the test extras and the third-party plugins the tests install
# (tests/sample_plugin, tests/rtp_plugin, tests/verify_email_step).
RUN_VENV   := .venv
TEST_VENV  := .venv-test
# (.installed-run: a .venv made before the split, with the test plugins in it, is made again without them)
RUN_STAMP  := $(RUN_VENV)/.installed-run
TEST_STAMP := $(TEST_VENV)/.installed
TEST_PLUGINS := tests/sample_plugin tests/rtp_plugin tests/verify_email_step
TEST_DISTRIBUTIONS := linx-sample-plugin linx-rtp linx-verify-email
# the environment a target's commands run in (set per target below; .venv unless said)
VENV   = $(RUN_VENV)
BIN    = $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
export LINX_ENV ?= development
export LINX_PUBLIC_URL ?= http://$(HOST):$(PORT)

.PHONY: run test test-fast lint bench install check-rules clean translations compile browser-deps

$(RUN_STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RUN_VENV)/bin/python -m pip install --quiet -e .
	$(RUN_VENV)/bin/python -m pip uninstall --quiet --yes $(TEST_DISTRIBUTIONS) 2>/dev/null
	touch $(RUN_VENV)/.installed $@

$(TEST_STAMP): setup.cfg pyproject.toml $(addsuffix /pyproject.toml,$(TEST_PLUGINS))
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TEST_VENV)/bin/python -m pip install --quiet -e '.[test,bench]' $(addprefix -e ,$(TEST_PLUGINS))
	touch $@

test test-fast lint bench translations: VENV = $(TEST_VENV)

# both environments (`.venv-test/bin/python -m pytest tests/test_x.py` runs a test file)
install: $(RUN_STAMP) $(TEST_STAMP)

# axe-core from the npm registry (tests/browser/package-lock.json): the browser suite injects it into every
# Gateway page it visits; without npm the step is skipped with a word, and the browser tests skip (or fail
# under LINX_TEST_REQUIRE_BROWSER=1)
AXE := tests/browser/node_modules/axe-core/axe.min.js

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the browser suite's accessibility checks (axe-core) cannot run"; fi

browser-deps: $(AXE)

# The Gateway's words: `make translations` extracts the ids (babel.cfg) and adds the new ones to each
# catalog for a translator; `make compile` builds the .mo files read at run time (not committed).
I18N     := gateway_app/translations
PO_FILES := $(wildcard $(I18N)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

translations: $(TEST_STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --sort-by-file --add-location=file --no-wrap \
	  --project LinX --copyright-holder "LinX contributors" -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) --no-wrap --ignore-pot-creation-date

# (with the environment of the target that needs them; alone, `make compile` uses .venv)
compile: $(MO_FILES)

$(I18N)/%/LC_MESSAGES/messages.mo: $(I18N)/%/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile --statistics -i $< -o $@

# the LINX_* settings it runs with go to instance/linx.env too, so that a `linx` command pasted from the README
# into a new shell in this folder uses them (linx_core/devfile.py: only in development, only from this folder)
run: $(RUN_STAMP) compile
	@$(BIN)/python -m linx_core.ports $(HOST) $(PORT)
	@$(BIN)/python -m linx_core.devfile instance/linx.env
	@$(BIN)/linx init --demo --json > $(VENV)/demo.json
	@$(BIN)/python -m linx_core.banner $(VENV)/demo.json
	$(BIN)/linx serve --host $(HOST) --port $(PORT)

# the whole suite, then the lint: CI (.ci/run) runs this, so a finding fails the build as a test would
test: $(TEST_STAMP) compile browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory lint

# the unit tests alone (SQLite; no real process, server, browser or fuzzing campaign: the `system` marker in
# setup.cfg), on every core, in under a minute
test-fast: $(TEST_STAMP) compile
	$(BIN)/python -m pytest -m "not system" -n auto $(PYTEST_ARGS)

# ruff on the whole tree (rules in pyproject.toml), mypy on linx_core (every function typed); both clean
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy linx_core

# make bench [BENCHES="create worker"] [BENCH_ARGS="--backend sqlite --quick"]: every benchmark, or those named
BENCHES    ?= lifecycle create worker gateway e2e memory batch
BENCH_ARGS ?=
bench: $(TEST_STAMP)
	@command -v wrk >/dev/null || $(BIN)/python -c 'import sys; sys.path.insert(0, "bench"); import loadgen; loadgen.ensure_wrk()'
	@for b in $(BENCHES); do \
	  if [ $$b = lifecycle ]; then $(BIN)/python bench/bench_lifecycle.py || exit 1; \
	  else $(BIN)/python bench/bench_$$b.py $(BENCH_ARGS) || exit 1; fi; \
	done

check-rules: $(RUN_STAMP)
	$(BIN)/linx rules check

clean:
	rm -rf $(RUN_VENV) $(TEST_VENV) build *.egg-info $(MO_FILES) tests/browser/node_modules
