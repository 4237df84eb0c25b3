# Two commands: `make run` starts the product, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HOTLINE_DATABASE_URL ?= sqlite:///instance/core.db

.PHONY: run test install translations lint check-migrations bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	@for dir in $$(find core hotline directory tickets knowledge portal bot wechat delivery -type d -name translations 2>/dev/null); do \
		$(BIN)/pybabel -q compile --use-fuzzy -d $$dir || exit 1; \
	done

run: install
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app seed-demo
	@echo "Serving on http://127.0.0.1:5000  (staff console: http://127.0.0.1:5000/staff)"
	HOTLINE_RUN_WORKER=true $(BIN)/flask --app app serve --host 127.0.0.1 --port 5000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy core directory tickets delivery hotline
	$(BIN)/lint-imports

test: install
	$(BIN)/python scripts/run_tests.py

bench: install
	$(BIN)/python scripts/bench_supervision.py

clean:
	rm -rf $(VENV) instance test-artifacts
