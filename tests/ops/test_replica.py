"""A real streaming standby of the drill's primary (tests/ops/conftest.py), made with
pg_basebackup -R: reporting reads go to it, under the same runtime role and policies,
with the organization context set on its own transaction; a request that wrote, a
standby whose replay is paused past the lag limit, and a stopped standby all fall back
to the primary, logged and counted, with the right organization's rows."""

from __future__ import annotations

import io
import re
import time
from decimal import Decimal

import psycopg
import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Team
from crm.models import Campaign
from smartweb import clusters, replica
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm
from tests.factories import make_organization, make_team, org_admin, session_client

FORECAST = "/api/v1/opportunities/forecast/?months=1"


class Standby:
    """The standby, and the superuser's URL on it and on its primary (the copy has the
    primary's roles and passwords)."""

    def __init__(self, cluster: clusters.Cluster, primary_admin: str):
        self.cluster = cluster
        self.primary_admin = primary_admin
        self.admin = clusters.with_address(primary_admin, cluster.port)

    def caught_up(self, timeout: float = 30) -> None:
        """Wait until the standby has replayed everything the primary has written."""
        with psycopg.connect(self.primary_admin, autocommit=True) as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.admin, autocommit=True) as standby:
            while not standby.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
            ).fetchone()[0]:
                assert time.monotonic() < deadline, f"standby not at {target} in {timeout} s"
                time.sleep(0.1)

    def sql(self, statement: str) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(statement)


@pytest.fixture(scope="module")
def standby(archiving_server):
    server = archiving_server
    cluster = clusters.standby(server.cluster, server.scratch / "standby", server.roles.backup)
    try:
        cluster.start()
        yield Standby(cluster, server.admin)
    finally:
        cluster.remove()


@pytest.fixture(scope="module")
def routed(archiving_server, standby, django_db_blocker):
    """Django's default database is the drill's primary and `replica` its standby (the
    runtime role has the same password on both: db_bootstrap keeps it in var/)."""
    default = connections["default"]
    saved = dict(default.settings_dict)
    default.close()
    default.settings_dict.update(
        HOST="127.0.0.1", PORT=str(archiving_server.cluster.port), NAME="smartweb"
    )
    connections.settings[replica.REPLICA] = {
        **default.settings_dict,
        "PORT": str(standby.cluster.port),
        "TEST": {"MIRROR": "default"},
    }
    try:
        with django_db_blocker.unblock():
            yield
    finally:
        for alias in ("default", replica.REPLICA):
            connections[alias].close()
        del connections[replica.REPLICA]
        del connections.settings[replica.REPLICA]
        default.settings_dict.clear()
        default.settings_dict.update(saved)


@pytest.fixture(scope="module")
def tenants(routed, standby, module_midday):
    """Two organizations with a team, a campaign and an open opportunity closing this
    month each, from a lead of a company named after the organization. "This month" is
    the pinned clock's (tests.clock) for the whole module: its tests, which read it
    again, may run after midnight or into the next month."""
    this_month = module_midday.date().replace(day=15)
    made = {}
    for name, value in (("acme", "1000.00"), ("bravo", "7.00")):
        organization = make_organization(f"Replica {name}")
        make_team(organization, f"{name}-team")
        crm.campaign(organization, name=f"{name} campaign")
        crm.opportunity(
            organization,
            lead=crm.qualified_lead(organization, company_name=f"{name} trades"),
            value=Decimal(value),
            expected_close_date=this_month,
        )
        made[name] = organization
    standby.caught_up()
    return made


@pytest.fixture(autouse=True)
def measured_each_time(settings):
    settings.REPLICA_LAG_CHECK_SECONDS = 0


def fallbacks(reason: str) -> int:
    return replica.status()["fallbacks"].get(reason, 0)


def replica_rows(sql: str) -> list:
    with connections[replica.REPLICA].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_a_forecast_request_reads_the_replica_with_its_organization_rows(tenants):
    acme = tenants["acme"]
    response = session_client(org_admin(acme), acme).get(FORECAST)

    assert response.status_code == 200
    assert response["X-Read-From"] == "replica"
    (month,) = response.json()["months"]
    assert (month["open_count"], month["value"]) == (1, "1000.00")


def test_the_dashboard_statistics_export_and_a_list_that_asks_read_the_replica(tenants):
    acme = tenants["acme"]
    client = session_client(org_admin(acme), acme)
    with tenant_context(acme):
        campaign = Campaign.objects.get()
    answers = {
        "dashboard": client.get(reverse("admin:crm_salesdashboard_changelist")),
        "statistics": client.get(f"/api/v1/campaigns/{campaign.pk}/stats/"),
        "export": client.get("/api/v1/leads/export/"),
        "list": client.get("/api/v1/opportunities/", HTTP_X_READ_FROM="replica"),
    }

    for name, answer in answers.items():
        assert (answer.status_code, answer["X-Read-From"]) == (200, "replica"), name
    assert "1,000.00" in answers["dashboard"].content.decode()
    statistics = answers["statistics"].json()
    assert (statistics["targets_remaining"], statistics["by_status"]) == (1, [])  # acme's lead
    export = answers["export"].content.decode()
    assert "acme trades" in export and "bravo trades" not in export
    assert [row["value"] for row in answers["list"].json()["results"]] == ["1000.00"]
    # Without the header a list reads the primary, where the client's writes are.
    assert "X-Read-From" not in client.get("/api/v1/opportunities/")


def test_db_report_reads_the_table_sizes_from_the_replica_and_shows_its_lag(tenants):
    out = io.StringIO()
    call_command("db_report", stdout=out)
    report = out.getvalue()
    assert "from the replica)" in report
    assert re.search(r"Read replica\n  ok  replay lag \d+\.\d s \(limit 5 s\)", report)


def test_a_replica_read_sees_its_organization_only_and_without_context_nothing(tenants):
    acme = tenants["acme"]
    with tenant_context(acme), replica.reporting_reads() as alias:
        assert alias == replica.REPLICA
        assert replica_rows("SELECT pg_is_in_recovery()") == [(True,)]
        assert replica_rows("SELECT name FROM accounts_team") == [("acme-team",)]
        assert [team.name for team in Team.objects.all()] == ["acme-team"]
    with transaction.atomic(), replica.reporting_reads() as alias:
        assert alias == replica.REPLICA
        assert replica_rows("SELECT count(*) FROM accounts_team") == [(0,)]
        assert replica_rows("SELECT count(*) FROM crm_opportunity") == [(0,)]
    # Outside a reporting block the replica's connection has no context: still nothing.
    assert replica_rows("SELECT count(*) FROM accounts_team") == [(0,)]


def test_a_unit_of_work_that_wrote_reads_its_write_from_the_primary(tenants):
    acme = tenants["acme"]
    before = fallbacks("wrote")
    with tenant_context(acme):
        Team.objects.create(organization=acme, name="acme-new")
        with replica.reporting_reads() as alias:
            names = sorted(team.name for team in Team.objects.all())

    assert alias == "default"
    assert names == ["acme-new", "acme-team"]
    assert fallbacks("wrote") == before + 1


def test_a_replica_behind_the_lag_limit_falls_back_logged_and_counted(
    tenants, standby, settings, caplog
):
    settings.REPLICA_MAX_LAG_SECONDS = 1
    bravo = tenants["bravo"]
    client = session_client(org_admin(bravo), bravo)
    before = fallbacks("lag")
    standby.sql("SELECT pg_wal_replay_pause()")
    try:
        make_team(bravo, "bravo-late")
        time.sleep(1.5)
        response = client.get(FORECAST)
        with tenant_context(bravo), replica.reporting_reads() as alias:
            names = sorted(team.name for team in Team.objects.all())
    finally:
        standby.sql("SELECT pg_wal_replay_resume()")

    assert response.status_code == 200 and response["X-Read-From"] == "primary"
    (month,) = response.json()["months"]
    assert (month["open_count"], month["value"]) == (1, "7.00")
    assert alias == "default" and names == ["bravo-late", "bravo-team"]
    assert fallbacks("lag") == before + 2
    assert "fall back to the primary (replica lag; lag " in caplog.text

    standby.caught_up()
    assert client.get(FORECAST)["X-Read-From"] == "replica"


def test_a_stopped_standby_gives_a_fallback_with_the_right_rows_until_it_returns(
    tenants, standby, settings, caplog
):
    settings.REPLICA_RETRY_SECONDS = 2
    settings.HEALTH_TOKEN = "replica-test"
    acme = tenants["acme"]
    client = session_client(org_admin(acme), acme)
    before = fallbacks("down")
    standby.cluster.stop()
    try:
        response = client.get(FORECAST)
        again = client.get(FORECAST)  # within the retry window: not tried again
        report = Client().get("/healthz?full=1", HTTP_AUTHORIZATION="Bearer replica-test").json()
    finally:
        standby.cluster.start()

    for answer in (response, again):
        assert answer.status_code == 200 and answer["X-Read-From"] == "primary"
        (month,) = answer.json()["months"]
        assert (month["open_count"], month["value"]) == (1, "1000.00")
    assert fallbacks("down") == before + 2
    assert caplog.text.count("Read replica unreachable") == 1
    assert report["replica"]["state"] == "down" and report["status"] == "degraded"
    assert "read replica down: reporting reads on the primary" in report["problems"]

    time.sleep(settings.REPLICA_RETRY_SECONDS)
    standby.caught_up()
    assert client.get(FORECAST)["X-Read-From"] == "replica"
