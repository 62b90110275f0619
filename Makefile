# LinX: `make run` serves the demo; `make test` runs the whole suite. Both start from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
HOST   ?= 127.0.0.1
export LINX_ENV ?= development
export LINX_PUBLIC_URL ?= http://$(HOST):$(PORT)

.PHONY: run test bench install check-rules clean

$(STAMP): setup.cfg pyproject.toml tests/sample_plugin/pyproject.toml tests/rtp_plugin/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet -e tests/sample_plugin
	$(BIN)/python -m pip install --quiet -e tests/rtp_plugin
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/linx init --demo --json > $(VENV)/demo.json
	@$(BIN)/python -m linx_core.banner $(VENV)/demo.json
	$(BIN)/linx serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/bench_lifecycle.py

check-rules: $(STAMP)
	$(BIN)/linx rules check

clean:
	rm -rf $(VENV) build *.egg-info
