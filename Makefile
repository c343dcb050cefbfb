# optloop: `make demo` and `make test` do all the set-up on a fresh Debian bookworm machine.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PG_URL  := postgresql+psycopg://optloop:optloop@127.0.0.1:5432/optloop_test
DEMO_DB := $(CURDIR)/.cache/demo.db

.PHONY: demo test setup system venv lint bench clean

demo: setup
	$(BIN)/optloop optimize $$($(BIN)/python -m optloop.benchmarks.suite --demo) --budget 60 \
	    --db $(DEMO_DB) --out optloop-out

test: setup lint
	tools/bootstrap.sh --postgres
	OPTLOOP_TEST_PG=$(PG_URL) $(BIN)/python -m pytest -q

setup: system venv
	$(BIN)/optloop setup

system:
	tools/bootstrap.sh

venv: $(STAMP)

# torch first, pinned, so pip takes the local CPU wheel instead of the CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy sandbox db agent benchmarks

bench: setup
	$(BIN)/optloop bench

clean:
	rm -rf optloop-out .cache build *.egg-info
	-$(BIN)/optloop setup --clean --check
