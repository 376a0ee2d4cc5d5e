# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
DEVDB := $(PY) -m smartweb.devdb run --
# migrate as the owner role; everything else runs as the runtime role (under RLS)
MIGRATE := DATABASE_URL=$$DATABASE_OWNER_URL $(PY) manage.py migrate --no-input

.PHONY: install run test test-server test-pooled fuzz lint format migrations-check bench stop-db

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

# The parts of the suite that depend on the PostgreSQL server rather than on the code: the
# query plans and search functions, operations (backups, replica, moves, upgrades), locking
# and faults, and the schema's security rules (RLS, roles, distribution, pushdown). CI runs
# the whole suite on the embedded server (PostgreSQL 18) and these on the oldest supported
# server, PostgreSQL 15 (docs/decisions/0059-ci-on-two-servers.md).
SERVER_TESTS := tests/perf tests/ops tests/reliability \
  tests/security/test_rls_coverage.py tests/security/test_rls_raw_sql.py \
  tests/security/test_database_role_check.py tests/security/test_identity_constraints.py \
  tests/security/test_distribution_rules.py tests/security/test_router_pushdown.py \
  tests/security/test_citus_plan.py tests/security/test_scopes.py \
  tests/security/test_tampered_cursors.py tests/platform/test_token_lookup.py \
  tests/platform/test_context_on_a_lost_connection.py tests/platform/test_count_with_page.py
test-server: install
	$(DEVDB) sh -c '$(PY) -m pytest $(SERVER_TESTS) $(PYTEST_ARGS)'

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
