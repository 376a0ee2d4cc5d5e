"""Which server each process connects to behind a pooler, and how
(smartweb.database_config): web processes through the pooler, with no prepared
statements, no server-side cursors and no libpq `options`; the job worker, migrate and
the other commands directly, with their own bounds in `options`."""

from smartweb.database_config import chosen_url, database, timeouts

POOLER = "postgresql://smartweb_app:secret@127.0.0.1:6432/smartweb"
DIRECT = "postgresql://smartweb_app:secret@db.internal:5432/smartweb"
OWNER = "postgresql://smartweb_owner:other@db.internal:5432/smartweb"


def _settings(process_kind: str, url: str, direct_url: str | None) -> dict:
    chosen, pooled = chosen_url(
        process_kind=process_kind, url=url, direct_url=direct_url, pooled=direct_url is not None
    )
    return database(chosen, pooled=pooled, bounds=timeouts(process_kind), conn_max_age=60)


def test_a_web_process_connects_through_the_pooler_without_session_state():
    web = _settings("web", POOLER, DIRECT)
    assert (web["HOST"], web["PORT"]) == ("127.0.0.1", 6432)
    assert web["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert web["OPTIONS"] == {"prepare_threshold": None}


def test_commands_and_the_worker_connect_directly_with_their_bounds():
    command = _settings("command", POOLER, DIRECT)
    assert (command["HOST"], command["USER"]) == ("db.internal", "smartweb_app")
    assert command["DISABLE_SERVER_SIDE_CURSORS"] is False
    assert "-c statement_timeout=1800000" in command["OPTIONS"]["options"]
    assert "-c jit=off" in command["OPTIONS"]["options"]


def test_migrate_as_the_owner_connects_as_given():
    migrate = _settings("command", OWNER, DIRECT)
    assert (migrate["HOST"], migrate["USER"]) == ("db.internal", "smartweb_owner")
    assert "options" in migrate["OPTIONS"]


def test_without_a_pooler_nothing_changes():
    web = _settings("web", DIRECT, None)
    assert web["HOST"] == "db.internal" and not web["DISABLE_SERVER_SIDE_CURSORS"]
    assert "-c statement_timeout=15000" in web["OPTIONS"]["options"]
    assert "-c jit=off" in web["OPTIONS"]["options"]
