"""Summary rows the dashboards read, kept by the database in the statement that changes
the facts (ADR 0027).

Each rollup is a tenant table of sums grouped by a few keys. Statement-level triggers on
its facts table add, in the same transaction, what the statement's new rows count and
subtract what its old rows counted (transition tables): every path that writes the facts
keeps it, whether it goes through the services or not (soft delete and restore from the
admin and the API, the retention job's hard deletes, imports in bulk, an organization's
move). The triggers run as the writing role under its organization context, so the
rollup rows pass the same policy as the facts.

`rebuild` recomputes an organization's rows from its facts (after a repair of the facts
by hand, or to check them: the `crm.rebuild_rollups` job); `differences` lists what a
recomputation would change.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q

log = logging.getLogger(__name__)

# The zone of the rollups' days and months: the project's (UTC), for every organization
# whatever its own zone, so that a change of an organization's zone rebuilds nothing. The
# dashboards read the facts by the same days when a rollup cannot answer, so that both
# give one figure (docs/decisions/0050).
REPORTING_ZONE = zoneinfo.ZoneInfo(settings.TIME_ZONE)

# How long a rebuild waits for the writers of an organization's facts to finish.
REBUILD_LOCK_TIMEOUT = "5s"


def _local_day(column: str) -> str:
    # The day in the project's zone (REPORTING_ZONE), as the dashboards' periods mean it.
    return f"(f.{column} AT TIME ZONE '{settings.TIME_ZONE}')::date"


def _day_and_month(day: str, owner: str | None = None) -> str:
    """Each fact row on its day (`g.grain` 'day') and on its month's first day; with an
    owner column, also on its month's row of every owner together ('total', `g.owner_id`
    NULL). Whoever sees every owner's rows reads those: a month of the organization in a
    few rows per key instead of one per owner (crm.rollups.period_q)."""
    month = f"date_trunc('month', {day})::date"
    if owner is None:
        return f" CROSS JOIN LATERAL (VALUES ('day', {day}), ('month', {month})) AS g(grain, day)"
    return (
        f" CROSS JOIN LATERAL (VALUES ('day', {day}, {owner}), ('month', {month}, {owner}),"
        f" ('total', {month}, NULL::uuid)) AS g(grain, day, owner_id)"
    )


@dataclass(frozen=True)
class Rollup:
    table: str
    facts: str
    keys: dict[str, str]  # column -> SQL expression over the fact row `f`
    measures: dict[str, str]  # column -> SQL expression summed
    # One fact row counted on several rows (a LATERAL list), and which of those count.
    expand: str = ""
    where: str = "f.deleted_at IS NULL"

    @property
    def columns(self) -> list[str]:
        return ["organization_id", *self.keys, *self.measures]

    @property
    def key_positions(self) -> str:
        return ", ".join(str(n) for n in range(1, len(self.keys) + 2))

    def summed(self, facts: str) -> str:
        """The rollup rows of `facts` (a query of fact rows with a `delta` of 1 or -1)."""
        sums = [f"sum(f.delta * {expression})" for expression in self.measures.values()]
        return (
            f"SELECT f.organization_id, {', '.join(self.keys.values())}, {', '.join(sums)}"
            f" FROM ({facts}) f {self.expand} WHERE {self.where} GROUP BY {self.key_positions}"
            f" HAVING {' OR '.join(f'{s} <> 0' for s in sums)}"
        )

    def apply(self, facts: str) -> str:
        """Add the sums of `facts` to the rollup rows, in key order (two writers lock the
        rows they share in the same order)."""
        key = ", ".join(["organization_id", *self.keys])
        added = ", ".join(f"{m} = r.{m} + EXCLUDED.{m}" for m in self.measures)
        return (
            f"INSERT INTO {self.table} AS r ({', '.join(self.columns)})"
            f" {self.summed(facts)} ORDER BY {self.key_positions}"
            f" ON CONFLICT ({key}) DO UPDATE SET {added}"
        )

    def recomputed(self) -> str:
        """The organization's rows (parameter) computed from its facts."""
        return self.summed(f"SELECT 1 AS delta, * FROM {self.facts} WHERE organization_id = %s")

    def maintained(self) -> str:
        counting = " OR ".join(f"{m} <> 0" for m in self.measures)
        return (
            f"SELECT {', '.join(self.columns)} FROM {self.table}"
            f" WHERE organization_id = %s AND ({counting})"
        )

    def differences_sql(self) -> str:
        """`differences`, with the organization's id as its four parameters."""
        kept, recomputed = self.maintained(), self.recomputed()
        return (
            f"(SELECT 'kept', * FROM ({kept} EXCEPT {recomputed}) a)"
            f" UNION ALL (SELECT 'recomputed', * FROM ({recomputed} EXCEPT {kept}) b)"
        )

    def install_sql(self) -> str:
        new = "SELECT 1 AS delta, * FROM new_rows"
        old = "SELECT -1 AS delta, * FROM old_rows"
        function = f"{self.table}_keep"
        triggers = [
            ("insert", "NEW TABLE AS new_rows"),
            ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("delete", "OLD TABLE AS old_rows"),
        ]
        return (
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF TG_OP = 'INSERT' THEN {self.apply(new)};"
            f" ELSIF TG_OP = 'UPDATE' THEN {self.apply(f'{new} UNION ALL {old}')};"
            f" ELSE {self.apply(old)}; END IF; RETURN NULL; END $$;"
            + "".join(
                f" CREATE TRIGGER {self.table}_on_{event} AFTER {event.upper()} ON {self.facts}"
                f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
                for event, transition in triggers
            )
        )

    def uninstall_sql(self) -> str:
        return "".join(
            f" DROP TRIGGER IF EXISTS {self.table}_on_{event} ON {self.facts};"
            for event in ("insert", "update", "delete")
        ) + (f" DROP FUNCTION IF EXISTS {self.table}_keep();")


OPPORTUNITIES = Rollup(
    table="crm_opportunityrollup",
    facts="crm_opportunity",
    keys={
        "kind": "d.kind",
        "grain": "g.grain",
        "day": "g.day",
        "pipeline_id": "f.pipeline_id",
        "stage_id": "f.stage_id",
        "owner_id": "g.owner_id",
        "currency": "f.currency",
        "status": "f.status",
    },
    measures={"deals": "1", "value": "f.value", "weighted_value": "f.weighted_value"},
    expand=(
        "CROSS JOIN LATERAL (VALUES ('closes', f.expected_close_date),"
        f" ('created', {_local_day('created_at')}), ('closed', {_local_day('closed_at')}))"
        " AS d(kind, day)" + _day_and_month("d.day", "f.owner_id")
    ),
    where="f.deleted_at IS NULL AND (d.kind <> 'closed' OR f.closed_at IS NOT NULL)",
)
LEADS = Rollup(
    table="crm_leadrollup",
    facts="leads_lead",
    keys={
        "grain": "g.grain",
        "day": "g.day",
        "source": "f.source",
        "assigned_to_id": "g.owner_id",
        "status": "f.status",
    },
    measures={"leads": "1"},
    expand=_day_and_month(_local_day("created_at"), "f.assigned_to_id"),
)
AI_CALLS = Rollup(
    table="crm_aicallrollup",
    facts="crm_aicall",
    keys={
        "grain": "g.grain",
        "day": "g.day",
        "campaign_id": "f.campaign_id",
        "status": "f.status",
        "outcome": "f.outcome",
    },
    measures={"calls": "1"},
    expand=_day_and_month(_local_day("created_at")),
)
ROLLUPS = (OPPORTUNITIES, LEADS, AI_CALLS)


def _month_after(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def period_q(first: dt.date | None, last: dt.date | None, *, months: str = "month") -> Q:
    """The rollup rows that count the days from `first` to `last` (both included; None:
    no bound, and rows without a day too) once each: the rows of the whole months (of
    grain `months`: 'month', or 'total' for every owner together), and the days' rows of
    a month a bound cuts."""
    whole_from = first if first is None or first.day == 1 else _month_after(first)
    end = None if last is None else last + dt.timedelta(days=1)
    whole_until = end if end is None or end.day == 1 else end.replace(day=1)
    if first is not None and last is not None and whole_from >= whole_until:
        return Q(grain="day", day__gte=first, day__lt=end)
    rows = Q(grain=months)
    if whole_from is not None:
        rows &= Q(day__gte=whole_from)
    if whole_until is not None:
        rows &= Q(day__lt=whole_until)
    if first is not None and first < whole_from:
        rows |= Q(grain="day", day__gte=first, day__lt=whole_from)
    if last is not None and whole_until < end:
        rows |= Q(grain="day", day__gte=whole_until, day__lt=end)
    return rows


def differences(rollup: Rollup, organization_id) -> list[tuple]:
    """Rows kept that a recomputation would not give, and the other way round, each
    marked "kept" or "recomputed". Run in the organization's context."""
    with connection.cursor() as cursor:
        cursor.execute(rollup.differences_sql(), [organization_id] * 4)
        return cursor.fetchall()


def rebuild(rollup: Rollup, organization_id) -> int:
    """Replace the organization's rows with those recomputed from its facts, in one
    transaction, and return how many rows differed. The facts table is locked against
    writers meanwhile (SHARE: a write committed between the recomputation and the
    replacement would be lost), for at most REBUILD_LOCK_TIMEOUT of waiting; a failure
    leaves the previous rows as they were."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{REBUILD_LOCK_TIMEOUT}'")
        cursor.execute(f"LOCK TABLE {rollup.facts} IN SHARE MODE")
        found = len(differences(rollup, organization_id))
        if found:
            cursor.execute(
                f"DELETE FROM {rollup.table} WHERE organization_id = %s", [organization_id]
            )
            cursor.execute(
                f"INSERT INTO {rollup.table} ({', '.join(rollup.columns)}) {rollup.recomputed()}",
                [organization_id],
            )
        return found


class RebuildFailed(RuntimeError):
    """Some organization's rollups could not be rebuilt; their previous rows are kept."""


def rebuild_all(organization_ids) -> dict[str, int]:
    """Rebuild every rollup of each organization, each in its own context and transaction;
    rollup table -> rows corrected. A rebuild that fails is logged and the others go on,
    then RebuildFailed names the failures (the job that ran it is recorded as failed)."""
    from smartweb.tenancy.context import tenant_context

    corrected: dict[str, int] = dict.fromkeys((r.table for r in ROLLUPS), 0)
    failures = []
    for organization_id in organization_ids:
        for rollup in ROLLUPS:
            try:
                with tenant_context(organization_id):
                    corrected[rollup.table] += rebuild(rollup, organization_id)
            except DatabaseError as exc:
                log.error("Rebuilding %s of %s failed: %s", rollup.table, organization_id, exc)
                failures.append(f"{rollup.table} of {organization_id}: {exc}".strip())
    for table, count in corrected.items():
        if count:
            log.warning("%s rows of %s differed from their facts; rebuilt.", count, table)
    if failures:
        raise RebuildFailed("; ".join(failures))
    return corrected
