"""manage.py db_report: the database's health in one page.

- slowest statements (pg_stat_statements: needs `shared_preload_libraries =
  'pg_stat_statements'` on the server and the extension in the database; the embedded
  server has both; the runtime role reads other roles' statements through
  `pg_read_all_stats`, granted by `python -m smartweb.db_bootstrap`);
- largest tables (read from the read replica when there is one that may serve,
  smartweb.replica) and indexes;
- indexes never scanned since the statistics were reset (unique ones excluded: they
  enforce constraints);
- the read replica: whether it serves, its replay lag;
- backups: the last base backup's age (BACKUP_DIR) and WAL archiving (pg_stat_archiver:
  archived and failed counts, last success and failure);
- tenant tables (with an organization_id column) without ENABLEd and FORCEd row level
  security, or without a policy: there must be none, and the command fails if there are.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, connections, transaction

from smartweb import backups, replica

SLOWEST = """
SELECT calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3),
       rows, regexp_replace(query, '\\s+', ' ', 'g')
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY mean_exec_time DESC
 LIMIT %s
"""
TABLES = """
SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid),
       greatest(c.reltuples, 0)::bigint
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
 ORDER BY 2 DESC
 LIMIT %s
"""
INDEXES = """
SELECT s.indexrelname, s.relname, pg_relation_size(s.indexrelid), s.idx_scan
  FROM pg_stat_user_indexes s
 WHERE s.schemaname = 'public'
 ORDER BY 3 DESC
 LIMIT %s
"""
UNUSED = """
SELECT s.indexrelname, s.relname, pg_relation_size(s.indexrelid)
  FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname = 'public' AND s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
 ORDER BY 3 DESC, 1
 LIMIT %s
"""
UNPROTECTED = """
SELECT c.relname,
       c.relrowsecurity,
       c.relforcerowsecurity,
       EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                 AND a.attname = 'organization_id' AND NOT a.attisdropped)
   AND NOT (c.relrowsecurity AND c.relforcerowsecurity
            AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
 ORDER BY 1
"""
STATEMENT_WIDTH = 160


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class Command(BaseCommand):
    help = "Slowest statements, table and index sizes, unused indexes, tables without RLS."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=10, help="rows per section")

    def section(self, title: str) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(title))

    def rows(self, sql: str, params=(), alias: str = "default") -> list[tuple]:
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def handle(self, *args, limit: int, **options):
        self.slowest(limit)
        with replica.reporting_reads() as alias:
            tables = self.rows(TABLES, [limit], alias)
        self.section(
            "Largest tables (total with indexes / table / estimated rows;"
            f" from the {replica.source_name(alias)})"
        )
        for name, total, heap, estimate in tables:
            self.stdout.write(f"  {name:<40} {_size(total):>10} {_size(heap):>10} {estimate:>12,}")
        self.section("Largest indexes (size / scans)")
        for name, table, size, scans in self.rows(INDEXES, [limit]):
            self.stdout.write(f"  {name:<45} {table:<30} {_size(size):>10} {scans:>10,}")
        self.section("Unused indexes (no scan since the statistics were reset; unique excluded)")
        unused = self.rows(UNUSED, [limit])
        for name, table, size in unused:
            self.stdout.write(f"  {name:<45} {table:<30} {_size(size):>10}")
        if not unused:
            self.stdout.write("  none")
        self.replica()
        self.backups()
        self.section("Tenant tables without row level security (must be none)")
        unprotected = self.rows(UNPROTECTED)
        for name, enabled, forced, policy in unprotected:
            self.stdout.write(
                self.style.ERROR(f"  {name}: enabled={enabled} forced={forced} policy={policy}")
            )
        if unprotected:
            raise CommandError(
                f"{len(unprotected)} tenant table(s) without enabled and forced RLS and a policy."
            )
        self.stdout.write(self.style.SUCCESS("  none"))

    def replica(self) -> None:
        self.section("Read replica")
        state = replica.status()
        if not state["configured"]:
            self.stdout.write("  none (DATABASE_REPLICA_URL is not set)")
            return
        lag = state["lag_seconds"]
        self.stdout.write(
            f"  {state['state']}  replay lag {'unknown' if lag is None else f'{lag:.1f} s'}"
            f" (limit {state['max_lag_seconds']} s)"
        )

    def backups(self) -> None:
        self.section("Backups and WAL archiving")
        with connection.cursor() as cursor:
            report = backups.health(cursor, settings.BACKUP_DIR, settings.BACKUP_MAX_AGE_HOURS)
        age = report["backups"].get("last_backup_age_seconds")
        where = settings.BACKUP_DIR
        if not report["backups"]["dir_visible"]:
            self.stdout.write(f"  last base backup: {where} is not on this machine")
        else:
            shown = "none" if age is None else f"{age / 3600:.1f} h ago"
            self.stdout.write(f"  last base backup: {shown} ({where})")
        archiving = report["archiving"]
        self.stdout.write(
            f"  archive_mode={archiving['archive_mode']}  archived={archiving['archived_count']:,}"
            f"  failed={archiving['failed_count']:,}"
            f"  last archived {archiving['last_archived_time'] or 'never'}"
            f"  last failed {archiving['last_failed_time'] or 'never'}"
        )
        for problem in report["problems"]:
            self.stdout.write(self.style.WARNING(f"  {problem}"))

    def slowest(self, limit: int) -> None:
        self.section("Slowest statements by mean time (pg_stat_statements)")
        try:
            # A savepoint: a missing view must not abort an enclosing transaction.
            with transaction.atomic():
                rows = self.rows(SLOWEST, [limit])
        except DatabaseError as exc:
            reason = str(exc).strip().splitlines()[0]
            self.stdout.write(
                self.style.WARNING(
                    f"  unavailable: {reason}\n"
                    "  Load it with shared_preload_libraries = 'pg_stat_statements' and"
                    " CREATE EXTENSION pg_stat_statements (see README, Performance)."
                )
            )
            return
        if any(query == "<insufficient privilege>" for *_, query in rows):
            self.stdout.write(
                self.style.WARNING(
                    "  Statements of other roles are hidden: grant pg_read_all_stats to this"
                    " role (python -m smartweb.db_bootstrap does)."
                )
            )
        self.stdout.write(
            f"  {'calls':>8} {'total ms':>12} {'mean ms':>10} {'rows':>10}  statement"
        )
        for calls, total, mean, count, query in rows:
            self.stdout.write(
                f"  {calls:>8,} {total:>12} {mean:>10} {count:>10,}  {query[:STATEMENT_WIDTH]}"
            )
        if not rows:
            self.stdout.write("  no statements recorded yet")
