# Two commands: `make run` starts the product, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HOTLINE_DATABASE_URL ?= sqlite:///instance/core.db

.PHONY: run test install translations vendor lint check-migrations bench clean prod-up prod-down

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,semantic]'
	touch $(STAMP)

install: $(STAMP) translations vendor

# Browser libraries from the npm registry (package-lock.json), served by the app itself from
# portal/static/vendor/ (no CDN): Chart.js for the analysis charts.
VENDOR := portal/static/vendor
vendor: $(VENDOR)/chart.umd.js

$(VENDOR)/chart.umd.js: package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p $(VENDOR)
	cp node_modules/chart.js/dist/chart.umd.js $@
	cp node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js-LICENSE.md

translations: $(STAMP)
	@for dir in $$(find core hotline directory tickets knowledge portal bot wechat delivery calls sms open311 analysis -type d -name translations 2>/dev/null); do \
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

# The production shape on this machine (nginx → 2 gunicorn instances, worker, scheduler,
# PostgreSQL, Redis) for load and fault tests: see README, "Production".
prod-up: install
	$(BIN)/python scripts/prod.py up --seed

prod-down:
	$(BIN)/python scripts/prod.py down

bench: install
	$(BIN)/python scripts/bench_supervision.py

clean:
	rm -rf $(VENV) instance test-artifacts node_modules $(VENDOR)
