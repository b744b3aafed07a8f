# The two commands of the quick start: `make run` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean

# The C extension is compiled by the install, so editing its sources reinstalls.
NATIVE_SOURCES := $(wildcard native_layer/src/*.c native_layer/src/*.h)

$(STAMP): pyproject.toml setup.py $(NATIVE_SOURCES)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/eventstream local up

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/gateway_overhead.py
	$(BIN)/python bench/init_duration.py
	$(BIN)/python bench/local_up.py
	$(BIN)/python bench/queue_throughput.py
	$(BIN)/python bench/core_publish.py
	$(BIN)/python bench/fanout_trigger.py
	$(BIN)/python bench/authorizer_decision.py
	$(BIN)/python bench/auth_validate.py
	$(BIN)/python bench/auth_login.py
	$(BIN)/python bench/events_publish_load.py
	$(BIN)/python bench/observability_init.py
	$(BIN)/python bench/observability_overhead.py

clean:
	rm -rf $(VENV) .eventstream native_layer/eventstream_native/*.so
