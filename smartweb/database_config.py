"""The default database's settings, from its URL: which URL a process connects to (the
pooler's or the server's), and how, so that settings, the pooler and the tests build
them alike (docs/decisions/0023-transaction-pooler.md).

Through a transaction-mode pooler (PgBouncer) consecutive transactions of one client may
run on different server connections, and the pooler refuses libpq's `options` startup
parameter. So a pooled connection prepares no statements (psycopg prepares a query
after a few runs and would then name a statement that exists on another server
connection), opens no server-side cursors (they outlive a transaction) and sends no
`options`: the pooler sets the web bounds on each server connection it opens
(smartweb.pooler, `connect_query`).
"""

from __future__ import annotations

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from smartweb.env import env_int

# Seconds; 0 turns a bound off. A web request gets short bounds (a hung query answers
# 503, never a hung worker), jobs and management commands larger ones.
DEFAULT_TIMEOUTS = {
    "web": {"STATEMENT": 15, "LOCK": 5, "IDLE_TRANSACTION": 30},
    "command": {"STATEMENT": 1800, "LOCK": 60, "IDLE_TRANSACTION": 600},
}
TIMEOUT_PARAMETERS = {
    "STATEMENT": "statement_timeout",
    "LOCK": "lock_timeout",
    "IDLE_TRANSACTION": "idle_in_transaction_session_timeout",
}


def timeouts(process_kind: str) -> dict[str, int]:
    """The bounds of a process kind, in seconds, each overridable as
    `<KIND>_<NAME>_TIMEOUT` (WEB_STATEMENT_TIMEOUT…)."""
    if process_kind not in DEFAULT_TIMEOUTS:
        raise ImproperlyConfigured("SMARTWEB_PROCESS must be 'web' or 'command'.")
    return {
        name: env_int(f"{process_kind.upper()}_{name}_TIMEOUT", seconds)
        for name, seconds in DEFAULT_TIMEOUTS[process_kind].items()
    }


# Set on every session of the application too (ADR 0036): JIT compilation, which
# PostgreSQL starts for any statement estimated above `jit_above_cost`, took 0.5 s of a
# 1.2 s count of a large organization's campaign targets; the application's statements
# are short, and none gains from it.
SESSION_SETTINGS = {"jit": "off"}


def session_parameters(bounds: dict[str, int]) -> dict[str, int | str]:
    """What each session of the application sets: the bounds in PostgreSQL's names and
    milliseconds, and SESSION_SETTINGS."""
    timeouts = {TIMEOUT_PARAMETERS[name]: seconds * 1000 for name, seconds in bounds.items()}
    return {**timeouts, **SESSION_SETTINGS}


def set_statements(parameters: dict[str, int | str]) -> list[str]:
    """The parameters as SET statements, for a connection that cannot take libpq's
    `options` (the pooler's `connect_query`, the benchmark's own connections)."""
    return [f"SET {name} = {value}" for name, value in parameters.items()]


def chosen_url(
    *, process_kind: str, url: str, direct_url: str | None, pooled: bool
) -> tuple[str, bool]:
    """The URL this process connects to, and whether it is a transaction pooler's.

    Web processes use DATABASE_URL. The job worker (LISTEN/NOTIFY outlives a
    transaction), `migrate` and every other management command (long transactions that
    would hold a pooled server connection) use DATABASE_DIRECT_URL when it is given, the
    same role on the server itself. A command run with DATABASE_URL naming another role
    (`DATABASE_URL=$DATABASE_OWNER_URL manage.py migrate`) connects as given, directly.
    """
    if process_kind == "web" or not (pooled and direct_url):
        return url, pooled
    if _user(url) != _user(direct_url):
        return url, False
    return direct_url, False


def _user(url: str) -> str:
    return dj_database_url.parse(url).get("USER") or ""


def database(
    url: str,
    *,
    pooled: bool,
    bounds: dict[str, int],
    conn_max_age: int,
    setting: str = "DATABASE_URL",
) -> dict:
    """The Django DATABASES entry for `url` (read from the environment's `setting`)."""
    try:
        settings = dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{setting} must be a postgresql://user:password@host:port/name URL."
        ) from exc
    # Django's backend, with tenant foreign keys kept by organization (ADR 0035)
    settings["ENGINE"] = "smartweb.postgresql"
    options = settings.setdefault("OPTIONS", {})
    # A Unix-socket URL (user@/db?host=/dir, as the embedded server's) leaves the
    # directory in OPTIONS; make it the HOST, so everything that connects from these
    # settings (the job queue, tooling, tests) reaches the same server.
    if "host" in options:
        settings["HOST"] = options.pop("host")
    if pooled:
        settings["DISABLE_SERVER_SIDE_CURSORS"] = True
        options["prepare_threshold"] = None
        options.pop("options", None)
    else:
        options["options"] = " ".join(
            f"-c {name}={value}" for name, value in session_parameters(bounds).items()
        )
    return settings
