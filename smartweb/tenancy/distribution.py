"""Keys a sharding engine can distribute by organization (ADR 0035), read from the catalog.

Citus shards a table by one column and enforces a key only within a shard, so it wants
that column in every primary key, unique constraint and foreign key between distributed
tables. `DistributionKeys` makes the catalog say so for every tenant table (a table with
`organization_id`, partitioned parents included, partitions following their parent):

- the primary key `(id)` becomes `(organization_id, id)` (history: `(organization_id,
  history_id)`); the `(organization_id, id)` unique key `TenantTable` added is then the
  same key and goes;
- every other unique constraint or unique index gains `organization_id` in front;
- a foreign key between tenant tables without `organization_id` on both sides becomes
  composite, or goes when a composite twin already covers it (Django's own single-column
  keys: each write checked both).

Django keeps addressing rows by `id`, which stays unique in practice (a UUID). The
operation reads the catalog, not the models, so one instance covers every table and it
can run again in a later migration: it changes nothing that already follows the rules.
`violations()` states the rules; the schema test runs it on the migrated database.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.migrations.operations.base import Operation

DISTRIBUTION_COLUMN = "organization_id"
_COLUMN = f'"{DISTRIBUTION_COLUMN}"'

# The security audit log keeps events that belong to no organization (a failed login for
# an unknown email), so it cannot be distributed by it: it stays a table of the
# coordinator, and its keys stay as they are (ADR 0035).
UNDISTRIBUTED = ["audit_logs"]

# Tenant tables: ordinary tables and partitioned parents with the distribution column;
# a partition gets its keys from its parent.
TENANT_TABLES = f"""
SELECT c.oid FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = '{DISTRIBUTION_COLUMN}'
     AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND c.relname <> ALL (%(undistributed)s)
"""


def catalog_parameters(schema: str) -> dict:
    return {"schema": schema, "undistributed": UNDISTRIBUTED}


# Keys (primary, unique, exclusion) and unique indexes without a constraint, of tenant
# tables, with whether the distribution column is among their columns.
_KEYS = f"""
SELECT i.indrelid::regclass::text, ic.relname, con.contype,
       coalesce(pg_get_constraintdef(con.oid), pg_get_indexdef(i.indexrelid)),
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid
               AND a.attname = '{DISTRIBUTION_COLUMN}' AND a.attnum = ANY (i.indkey)),
       i.indexrelid, i.indpred IS NOT NULL,
       ARRAY(SELECT a.attname FROM unnest(i.indkey) k
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k ORDER BY a.attname)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
     AND con.contype IN ('p', 'u', 'x')
WHERE i.indrelid IN ({TENANT_TABLES}) AND (i.indisunique OR con.contype = 'x')
ORDER BY 1, coalesce(con.contype = 'p', false) DESC, 2
"""

# Foreign keys whose table or target is a tenant table, with their column names in order.
_FOREIGN_KEYS = f"""
SELECT con.conrelid::regclass::text, con.conname, con.confrelid::regclass::text,
       pg_get_constraintdef(con.oid), con.conindid,
       con.conrelid IN ({TENANT_TABLES}), con.confrelid IN ({TENANT_TABLES}),
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid AND NOT c.relispartition
WHERE con.contype = 'f' AND con.conparentid = 0
  AND (con.conrelid IN ({TENANT_TABLES}) OR con.confrelid IN ({TENANT_TABLES}))
ORDER BY 1, 2
"""

# Functions the row level security policies call, with what a distributed planner asks
# of them: not volatile, not running with their owner's rights.
# The policies of the schema (`pol`) joined to each function they call (`p`).
POLICY_FUNCTION_JOINS = """
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %(schema)s
JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid
     AND d.refclassid = 'pg_proc'::regclass
JOIN pg_proc p ON p.oid = d.refobjid
"""
_POLICY_FUNCTIONS = f"""
SELECT DISTINCT pol.polrelid::regclass::text, pol.polname, p.proname, p.provolatile,
       p.prosecdef, p.proparallel
{POLICY_FUNCTION_JOINS}
ORDER BY 1, 2, 3
"""


@dataclass(frozen=True)
class Key:
    table: str
    name: str
    kind: str | None  # 'p', 'u', 'x' or None for a unique index without a constraint
    definition: str
    distributed: bool
    index: int
    partial: bool
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    target: str
    definition: str
    index: int
    from_tenant: bool
    to_tenant: bool
    columns: tuple[str, ...]
    target_columns: tuple[str, ...]

    @property
    def distributed(self) -> bool:
        """Both sides carry the distribution column, at the same position."""
        return (
            DISTRIBUTION_COLUMN in self.columns
            and DISTRIBUTION_COLUMN in self.target_columns
            and self.columns.index(DISTRIBUTION_COLUMN)
            == self.target_columns.index(DISTRIBUTION_COLUMN)
        )

    def shape(self, columns=None, target_columns=None) -> tuple:
        return (
            self.table,
            self.target,
            columns or self.columns,
            target_columns or self.target_columns,
        )


def _with_distribution_column(definition: str) -> str:
    """`PRIMARY KEY (id)` -> `PRIMARY KEY ("organization_id", id)`; the same for UNIQUE,
    a unique index's column list and both column lists of a foreign key."""
    head, paren, rest = definition.partition("(")
    rewritten = f"{head}{paren}{_COLUMN}, {rest}"
    if " REFERENCES " in rewritten:
        before, _, after = rewritten.partition(" REFERENCES ")
        target, paren, rest = after.partition("(")
        rewritten = f"{before} REFERENCES {target}{paren}{_COLUMN}, {rest}"
    return rewritten


def _keys(cursor, schema: str) -> list[Key]:
    cursor.execute(_KEYS, catalog_parameters(schema))
    return [Key(*row[:7], tuple(row[7])) for row in cursor.fetchall()]


def _foreign_keys(cursor, schema: str) -> list[ForeignKey]:
    cursor.execute(_FOREIGN_KEYS, catalog_parameters(schema))
    return [ForeignKey(*row[:7], tuple(row[7]), tuple(row[8])) for row in cursor.fetchall()]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def plan(cursor, schema: str = "public") -> list[str]:
    """The statements that bring the schema's tenant tables to the rules, in order; none
    when it already follows them."""
    keys = _keys(cursor, schema)
    foreign_keys = _foreign_keys(cursor, schema)

    # 1. Keys: widen those without the distribution column; a widened key that repeats one
    # the table already has (the tenant key beside the new primary key) goes instead.
    drop_keys: list[Key] = []
    add_keys: list[tuple[Key, str]] = []
    kept: set[tuple] = set()
    for key in keys:  # the primary key first within each table
        if key.kind == "x":
            raise ValueError(f"{key.table}.{key.name}: widen this exclusion constraint by hand")
        columns = frozenset({*key.columns, DISTRIBUTION_COLUMN})
        # partial indexes differ by their predicate: never one another's duplicate
        shape = (key.table, columns, key.name if key.partial else None)
        if key.distributed:
            if shape in kept:
                drop_keys.append(key)
            kept.add(shape)
            continue
        drop_keys.append(key)
        if shape not in kept:
            add_keys.append((key, _with_distribution_column(key.definition)))
            kept.add(shape)
    changed_indexes = {key.index for key in drop_keys}

    # 2. Foreign keys between tenant tables: composite, one per reference. Those already
    # composite come first, so that a composite twin keeps its name.
    between = sorted(
        (fk for fk in foreign_keys if fk.from_tenant and fk.to_tenant),
        key=lambda fk: not fk.distributed,
    )
    final: set[tuple] = set()
    drop_fks: list[ForeignKey] = []
    add_fks: list[str] = []
    for fk in between:
        if fk.distributed:
            shape, definition = fk.shape(), fk.definition
        elif DISTRIBUTION_COLUMN in fk.columns or DISTRIBUTION_COLUMN in fk.target_columns:
            raise ValueError(f"{fk.table}.{fk.name}: the organization on one side only")
        else:
            shape = fk.shape(
                (DISTRIBUTION_COLUMN, *fk.columns), (DISTRIBUTION_COLUMN, *fk.target_columns)
            )
            definition = _with_distribution_column(fk.definition)
        stays = fk.distributed and fk.index not in changed_indexes
        if not stays:
            drop_fks.append(fk)
        if shape in final:  # a composite twin covers this reference
            if stays:
                drop_fks.append(fk)
            continue
        final.add(shape)
        if not stays:
            add_fks.append(f"ALTER TABLE {fk.table} ADD CONSTRAINT {_quoted(fk.name)} {definition}")

    statements = [f"ALTER TABLE {fk.table} DROP CONSTRAINT {_quoted(fk.name)}" for fk in drop_fks]
    for key in drop_keys:
        if key.kind:
            statements.append(f"ALTER TABLE {key.table} DROP CONSTRAINT {_quoted(key.name)}")
        else:
            statements.append(f"DROP INDEX {_quoted(key.name)}")
    for key, definition in add_keys:
        if key.kind:
            statements.append(
                f"ALTER TABLE {key.table} ADD CONSTRAINT {_quoted(key.name)} {definition}"
            )
        else:
            # a partitioned table's index is shown `ON ONLY`, which would skip its partitions
            statements.append(definition.replace(" ON ONLY ", " ON ", 1))
    return statements + add_fks


def violations(cursor, schema: str = "public") -> list[str]:
    """Where the schema breaks a rule of distribution by organization, one line each."""
    found = [
        f"{key.table}: {key.name} ({key.definition}) lacks {DISTRIBUTION_COLUMN}"
        for key in _keys(cursor, schema)
        if not key.distributed
    ]
    seen: set[tuple] = set()
    for fk in _foreign_keys(cursor, schema):
        if fk.from_tenant and fk.to_tenant and not fk.distributed:
            found.append(f"{fk.table}: {fk.name} ({fk.definition}) is not by {DISTRIBUTION_COLUMN}")
        elif fk.from_tenant and fk.to_tenant and fk.shape() in seen:
            found.append(f"{fk.table}: {fk.name} repeats another foreign key (checked twice)")
        elif fk.to_tenant and not fk.from_tenant:
            found.append(f"{fk.table}: {fk.name} points from a global table into {fk.target}")
        seen.add(fk.shape())
    cursor.execute(_POLICY_FUNCTIONS, catalog_parameters(schema))
    for table, policy, function, volatility, definer, parallel in cursor.fetchall():
        if volatility == "v" or definer or parallel == "u":
            found.append(
                f"{table}: policy {policy} calls {function}(), which is volatile, parallel"
                " unsafe or SECURITY DEFINER"
            )
    return found


class DistributionKeys(Operation):
    """Bring every tenant table's keys to the distribution rules (see the module)."""

    # Backwards leaves the keys as they are: wider keys hold every row the narrower did.
    reversible = True
    reduces_to_sql = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with schema_editor.connection.cursor() as cursor:
            statements = plan(cursor)
        for statement in statements:
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return "Tenant keys and foreign keys by organization"


def without_organization_index(model_name: str, table: str, index: str):
    """The migration step that drops the organization foreign key's own index of a tenant
    table, whose primary key `(organization_id, id)` serves every look-up by organization:
    one index entry less for each row written (`smartweb.models.organization_key`).
    Django would drop and re-add the foreign key constraint to drop the index, checking
    every row again; the index goes alone. Used by landed migrations: do not change it."""
    from django.db import migrations, models

    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(
                model_name=model_name,
                name="organization",
                field=models.ForeignKey(
                    db_index=False,
                    editable=False,
                    on_delete=models.deletion.PROTECT,
                    related_name="+",
                    to="accounts.organization",
                ),
            )
        ],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{index}"',
                f'CREATE INDEX "{index}" ON "{table}" ("organization_id")',
            )
        ],
    )
