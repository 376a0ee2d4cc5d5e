"""What an organization is made of, read from the catalog rather than listed by hand, so a
table added later is moved without a change here.

Tenant tables are every table of `public` with an `organization_id` column (as
smartweb.recovery counts them). Their foreign keys to other tenant tables give the load
order; those to global tables either are the organization itself (`organization_id`) or
are carried by a natural key (NATURAL_KEYS): users by email, content types, permissions
and groups by their names, whose integer ids may differ between two databases. A
reference to any other global table stops the export: nobody decided how to move it.
"""

from __future__ import annotations

import graphlib
import uuid
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from smartweb.ops import OpsError

ORGANIZATION_TABLE = "accounts_organization"
USER_TABLE = "accounts_user"
TENANT_COLUMN = "organization_id"

# The same text on both sides, whatever the servers' defaults: checksums hash row texts.
SESSION = (
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';"
    " SET extra_float_digits = 1; SET bytea_output = 'hex'"
)

# A global row referenced by tenant rows, named so another database finds its own copy
# (`g` is the global table).
NATURAL_KEYS = {
    USER_TABLE: "lower(g.email)",
    "django_content_type": "g.app_label || '.' || g.model",
    "auth_permission": (
        "(SELECT ct.app_label || '.' || ct.model FROM django_content_type ct"
        " WHERE ct.id = g.content_type_id) || '.' || g.codename"
    ),
    "auth_group": "g.name",
}

# Rollup tables (`<app>_<name>rollup`, crm.rollups) are not carried: the triggers on their
# facts write them as the facts arrive, and a copy would count everything twice.
TENANT_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND c.relname NOT LIKE '%rollup'
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                 AND a.attname = 'organization_id' AND NOT a.attisdropped)
 ORDER BY 1
"""
# Generated columns are left out: the target computes them (and refuses them in INSERT).
COLUMNS = """
SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace
   AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
 ORDER BY c.relname, a.attnum
"""
PRIMARY_KEYS = """
SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
  JOIN unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indisprimary AND c.relname = ANY(%s) AND c.relnamespace = 'public'::regnamespace
 ORDER BY c.relname, k.ord
"""
FOREIGN_KEYS = """
SELECT src.relname, dst.relname,
       array(SELECT a.attname FROM unnest(f.conkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.n ORDER BY k.o)
  FROM pg_constraint f JOIN pg_class src ON src.oid = f.conrelid
  JOIN pg_class dst ON dst.oid = f.confrelid
 WHERE f.contype = 'f' AND src.relname = ANY(%s) AND src.relnamespace = 'public'::regnamespace
 ORDER BY 1, 2, 3
"""


@dataclass
class Table:
    """One table's share of an organization: the rows whose `scope` column is its id."""

    name: str
    columns: list[str]
    key: list[str]
    # column -> global table whose id it holds, carried by NATURAL_KEYS
    references: dict[str, str] = field(default_factory=dict)
    scope: str = TENANT_COLUMN

    def where(self, organization: uuid.UUID) -> sql.Composed:
        return sql.SQL("t.{} = {}").format(sql.Identifier(self.scope), sql.Literal(organization))

    def select(self, organization: uuid.UUID) -> sql.Composed:
        """Its rows, in key order, as COPY writes them."""
        return sql.SQL("SELECT {} FROM {} t WHERE {} ORDER BY {}").format(
            sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in self.columns),
            sql.Identifier(self.name),
            self.where(organization),
            self._order(),
        )

    def _order(self) -> sql.Composable:
        return sql.SQL(", ").join(
            sql.SQL("t.{}").format(sql.Identifier(c)) for c in (self.key or self.columns)
        )

    def checksum(self, conn: psycopg.Connection, organization: uuid.UUID) -> tuple[int, str]:
        """Row count and md5 over the rows' texts in key order; a reference to a global
        row counts as that row's natural key, so a user linked by email hashes the same."""
        values = []
        for column in self.columns:
            target = self.references.get(column)
            if target is None:
                values.append(sql.SQL("t.{}").format(sql.Identifier(column)))
            else:
                values.append(
                    sql.SQL("(SELECT {} FROM {} g WHERE g.id = t.{})").format(
                        sql.SQL(NATURAL_KEYS[target]),
                        sql.Identifier(target),
                        sql.Identifier(column),
                    )
                )
        query = sql.SQL(
            "SELECT count(*), coalesce(md5(string_agg(md5(ROW({})::text), '' ORDER BY {})), '')"
            " FROM {} t WHERE {}"
        ).format(
            sql.SQL(", ").join(values),
            self._order(),
            sql.Identifier(self.name),
            self.where(organization),
        )
        rows, digest = conn.execute(query).fetchone()
        return rows, digest


def _by_table(rows) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    return found


def organization_table(conn: psycopg.Connection) -> Table:
    columns = _by_table(conn.execute(COLUMNS, [[ORGANIZATION_TABLE]]).fetchall())
    return Table(ORGANIZATION_TABLE, columns[ORGANIZATION_TABLE], ["id"], scope="id")


def user_columns(conn: psycopg.Connection) -> list[str]:
    return _by_table(conn.execute(COLUMNS, [[USER_TABLE]]).fetchall())[USER_TABLE]


def tenant_tables(conn: psycopg.Connection) -> list[Table]:
    """Every tenant table, each after the tenant tables it references."""
    names = [row[0] for row in conn.execute(TENANT_TABLES)]
    columns = _by_table(conn.execute(COLUMNS, [names]).fetchall())
    keys = _by_table(conn.execute(PRIMARY_KEYS, [names]).fetchall())
    tables = {name: Table(name, columns[name], keys.get(name, [])) for name in names}
    order = graphlib.TopologicalSorter({name: set() for name in names})
    for source, target, fk_columns in conn.execute(FOREIGN_KEYS, [names]).fetchall():
        if target in tables:
            if target != source:
                order.add(source, target)
        elif target == ORGANIZATION_TABLE and fk_columns == [TENANT_COLUMN]:
            continue
        elif target in NATURAL_KEYS and len(fk_columns) == 1:
            tables[source].references[fk_columns[0]] = target
        else:
            raise OpsError(
                f"{source}.{', '.join(fk_columns)} references {target}, which a move of an"
                " organization does not know how to carry (smartweb/orgmove/catalog.py)."
            )
    _inherit_history_references(tables)
    try:
        return [tables[name] for name in order.static_order()]
    except graphlib.CycleError as exc:
        raise OpsError(f"The tenant tables' foreign keys form a cycle: {exc.args[1]}") from exc


def _inherit_history_references(tables: dict[str, Table]) -> None:
    """django-simple-history copies a model's columns into `<app>_historical<model>`
    without their foreign keys: the model's own table says which of them name a user (or
    another global row), so a linked user is rewritten in its history too."""
    for name, table in tables.items():
        app, sep, model = name.partition("_historical")
        base = tables.get(f"{app}_{model}") if sep else None
        if base is None:
            continue
        for column, target in base.references.items():
            if column in table.columns:
                table.references.setdefault(column, target)


def applied_migrations(conn: psycopg.Connection) -> list[str]:
    return [
        f"{app}.{name}"
        for app, name in conn.execute("SELECT app, name FROM django_migrations ORDER BY 1, 2")
    ]


def find_organization(conn: psycopg.Connection, id_or_slug: str) -> tuple[uuid.UUID, str, str]:
    try:
        row = conn.execute(
            "SELECT id, slug, name FROM accounts_organization WHERE id = %s",
            [uuid.UUID(id_or_slug)],
        ).fetchone()
    except ValueError:
        row = conn.execute(
            "SELECT id, slug, name FROM accounts_organization WHERE slug = %s", [id_or_slug]
        ).fetchone()
    if row is None:
        raise OpsError(f"No organization {id_or_slug!r} in this database.")
    return row
