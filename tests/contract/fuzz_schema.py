"""`make fuzz`: the OpenAPI schema is the contract, checked by schemathesis against a real
server (gunicorn as the runtime role on the test database, outside any test transaction),
as a demo Organization Admin and a demo Sales Rep (each in its own demo organization).

Every operation of the schema is exercised with examples, coverage cases (each
parameter's boundaries and wrong types; as the admin) and generated data, and each
response is checked: no server error, the body and the status code as the schema declares
them, invalid requests refused, valid ones accepted (or refused for a rule no schema
states, never for their form: hooks.py). Any finding fails the run. The file is not named
test_*.py: `make test` leaves it out, `make fuzz` names it.

The run is bounded to a few minutes on two cores: the two roles run side by side,
generated data is 3 examples per operation and mode, and the coverage phase leaves out PUT
and PATCH (schemathesis.toml). FUZZ_MAX_EXAMPLES (default 3) and FUZZ_SEED (default
fixed, so a finding reproduces) tune it; the reports land in var/fuzz/ (FUZZ_REPORTS).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import call_command

from tests.conftest import _as_owner
from tests.servers import runtime_database_url, web_server

# A safety net, the test database's setup included: the run is bounded by its settings.
pytestmark = pytest.mark.timeout(2400)
REPORTS = Path(os.environ.get("FUZZ_REPORTS") or Path(settings.BASE_DIR) / "var" / "fuzz")
HERE = Path(__file__).parent
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "schema_valid_request_refused_for_its_form",  # hooks.py
)
# Revoking the request's own token ends the run's authentication: it runs alone, last.
REVOKE = "/api/v1/auth/token/revoke/"
# login -> (demo organization, email). The two runs go side by side, so each role works in
# its own organization: the admin's run deactivates members and changes their roles, which
# would lock the rep out halfway through (and neither run may reach the other's rows).
LOGINS = {
    "admin": ("demo", "admin@demo.smartweb.test"),
    "rep": ("northwind", "rep@northwind.smartweb.test"),
}
# The coverage phase (every parameter's boundaries and wrong types) is most of the run's
# time and is about the schema, not the role: it runs once, as the admin, who may reach
# every operation. The rep's run checks what a narrower role is answered.
PHASES = {"admin": "examples,coverage,fuzzing", "rep": "examples,fuzzing"}
REVOKE_PHASES = "examples,fuzzing"
MAX_EXAMPLES = "3"


@pytest.fixture(scope="module")
def tokens(django_db_setup, django_db_blocker) -> dict[str, str]:
    """The demo organizations of `make run` and an API token per login; the database is
    emptied afterwards."""
    from accounts.models import Organization, User
    from accounts.services import token_create
    from smartweb.tenancy.context import tenant_context

    with django_db_blocker.unblock():
        call_command("seed_demo", verbosity=0)
        issued = {}
        for login, (slug, email) in LOGINS.items():
            organization = Organization.objects.get(slug=slug)
            with tenant_context(organization):
                issued[login] = token_create(
                    user=User.objects.get(email=email),
                    organization_id=organization.pk,
                    name=f"{login}'s schema check",
                )[1]
        yield issued
        with _as_owner():
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def server(tokens):
    REPORTS.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": runtime_database_url(),
        "DEBUG": "0",
        "SMARTWEB_TESTING": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "60",
    }
    with web_server(env, REPORTS / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def schema(server) -> Path:
    """The served schema, read once: its generation takes seconds, longer than
    schemathesis waits when every run asks for it at once on a busy host."""
    served = requests.get(
        f"{server}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}, timeout=300
    )
    served.raise_for_status()
    path = REPORTS / "schema.json"
    path.write_bytes(served.content)
    return path


def _start(
    url: str, schema: Path, token: str, name: str, *only: str, phases: str
) -> subprocess.Popen:
    """Starts schemathesis, its report written to REPORTS/<name>.txt (and .xml)."""
    command = [str(Path(sys.executable).with_name("schemathesis"))]
    command += ["--config-file", str(HERE / "schemathesis.toml"), "run"]
    command += [str(schema), "--url", url, "-H", f"Authorization: Bearer {token}"]
    command += ["--checks", ",".join(CHECKS), "--phases", phases]
    command += ["--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", MAX_EXAMPLES)]
    command += ["--seed", os.environ.get("FUZZ_SEED", "20")]
    # One worker: under two threads CPython 3.11.7 can fail inside ast.parse (gh-106905),
    # which Hypothesis calls to describe its strategies.
    command += ["--workers", "1", "--no-shrink", "--suppress-health-check", "all"]
    command += ["--report", "junit", "--report-dir", str(REPORTS)]
    command += ["--report-junit-path", str(REPORTS / f"{name}.xml")]
    if only:
        command += [arg for path in only for arg in ("--include-path", path)]
    else:
        command += ["--exclude-path", REVOKE]
    with (REPORTS / f"{name}.txt").open("w") as output:
        return subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": "tests.contract.hooks"},
        )


def _failures(runs: dict[str, subprocess.Popen]) -> dict[str, str]:
    """Waits for every run; the report of each that failed."""
    codes = {name: run.wait() for name, run in runs.items()}
    return {
        name: (REPORTS / f"{name}.txt").read_text(errors="backslashreplace")[-20000:]
        for name, code in codes.items()
        if code
    }


def test_every_operation_keeps_the_schema(server, schema, tokens):
    # The two roles run side by side: a run waits on the server most of its time, and two
    # keep both cores busy (each is its own process: see the worker count above).
    runs = {
        login: _start(server, schema, tokens[login], login, phases=PHASES[login])
        for login in LOGINS
    }
    failures = _failures(runs)
    assert not failures, "\n\n".join(failures.values())


@pytest.mark.parametrize("login", list(LOGINS))
def test_revoking_the_token_keeps_the_schema(server, schema, tokens, login):
    name = f"{login}-revoke"
    run = _start(server, schema, tokens[login], name, REVOKE, phases=REVOKE_PHASES)
    failures = _failures({name: run})
    assert not failures, failures.get(name)
