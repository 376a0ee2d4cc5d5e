# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
DEVDB := $(PY) -m smartweb.devdb run --
# migrate as the owner role; everything else runs as the runtime role (under RLS)
MIGRATE := DATABASE_URL=$$DATABASE_OWNER_URL $(PY) manage.py migrate --no-input

.PHONY: install run test test-pooled fuzz lint format migrations-check bench stop-db

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# Local development: DEBUG on unless asked otherwise (admin static files, dev secret key).
# The job worker (AI call campaigns) runs beside the server and stops with it. Without
# AI_CALL_PROVIDER_URL, campaigns call the demo provider, which reports to this server.
# Links in emails (unsubscribe, the digest) name this server unless SITE_URL says otherwise.
RUN_PORT ?= 8000
DEMO_WEBHOOK := http://127.0.0.1:$(RUN_PORT)/api/v1/webhooks/ai-calls/
run: install
	DEBUG=$${DEBUG:-1} SITE_URL=$${SITE_URL:-http://127.0.0.1:$(RUN_PORT)} AI_CALL_DEMO_WEBHOOK_URL=$$([ -n "$$AI_CALL_PROVIDER_URL" ] || echo $(DEMO_WEBHOOK)) \
	  $(DEVDB) sh -c 'trap "kill 0" EXIT; $(MIGRATE) && $(PY) manage.py seed_demo && \
	  { $(PY) -m smartweb.worker & } && $(PY) manage.py runserver 127.0.0.1:$(RUN_PORT)'

test: install
	$(DEVDB) sh -c '$(PY) -m pytest $(PYTEST_ARGS)'

# Through a transaction-mode PgBouncer (tests/pooler/fixtures.py; Debian's pgbouncer):
# the pooler's own tests, the connection reuse leak tests and the API isolation tests,
# with more clients than server connections. Skipped without pgbouncer unless
# SMARTWEB_REQUIRE_POOLER=1.
POOLED_TESTS := tests/pooler tests/security/test_connection_reuse.py \
  tests/accounts/test_isolation_api.py tests/leads/test_api.py
test-pooled: install
	$(DEVDB) sh -c '$(PY) -m pytest --through-pooler $(POOLED_TESTS) $(PYTEST_ARGS)'

# The OpenAPI schema against a real server, as the demo admin and the demo rep
# (tests/contract/fuzz_schema.py): fails on any server error, answer or status code the
# schema does not declare, invalid request accepted or valid one refused.
fuzz: install
	$(DEVDB) sh -c '$(PY) -m pytest tests/contract/fuzz_schema.py $(PYTEST_ARGS)'

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install
	DEBUG=1 $(DEVDB) sh -c 'DATABASE_URL=$$DATABASE_OWNER_URL $(PY) manage.py makemigrations --check --dry-run'

bench: install
	$(DEVDB) sh -c '$(PY) -m bench.run $(BENCH_ARGS)'

stop-db: install
	$(PY) -m smartweb.devdb stop
