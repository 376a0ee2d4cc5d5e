"""Migration operations that put a table under the tenancy model in one line.

    operations = [..., TenantTable("lead"), TenantTable("historicallead")]

`TenantTable` enables and forces Row Level Security with the tenant policy, adds the
`(organization_id, id)` unique key that composite foreign keys reference, and turns every
constrained foreign key to another tenant table into a composite one, so that no row can
point into another organization even if application code forgets to check (PostgreSQL
checks foreign keys without RLS). `TenantForeignKey` does the same for a field added
later. Both are reversible. A migration that adds tenant tables ends with
`smartweb.tenancy.distribution.DistributionKeys()`, which turns these keys into the ones a
database sharded by organization needs (ADR 0035).
"""

from __future__ import annotations

from django.db import models
from django.db.migrations.operations.base import Operation

from smartweb.tenancy import sql


def is_tenant_model(model) -> bool:
    try:
        field = model._meta.get_field("organization")
    except Exception:
        return False
    return isinstance(field, models.ForeignKey)


def _tenant_key_name(table: str) -> str:
    return f"{table[:40]}_org_id_key"


def _composite_fk_name(table: str, column: str) -> str:
    return f"{table[:30]}_{column[:20]}_org_fk"


def _composite_fk_sql(model, field) -> str:
    table = model._meta.db_table
    target = field.related_model._meta.db_table
    # NO ACTION, deferred, like Django's own constraint: Django runs on_delete in Python.
    return (
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{_composite_fk_name(table, field.column)}"'
        f' FOREIGN KEY (organization_id, "{field.column}")'
        f' REFERENCES "{target}" (organization_id, id)'
        " DEFERRABLE INITIALLY DEFERRED;"
    )


def _tenant_foreign_keys(model):
    for field in model._meta.local_fields:
        if (
            isinstance(field, models.ForeignKey)
            and field.name != "organization"
            and field.db_constraint
            and is_tenant_model(field.related_model)
        ):
            yield field


class TenantTable(Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, using: str | None = None):
        self.model_name = model_name
        self.using = using

    def deconstruct(self):
        kwargs = {"using": self.using} if self.using else {}
        return self.__class__.__name__, [self.model_name], kwargs

    def state_forwards(self, app_label, state):
        pass

    def _model(self, app_label, state):
        return state.apps.get_model(app_label, self.model_name)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = self._model(app_label, to_state)
        table = model._meta.db_table
        schema_editor.execute(sql.enable_rls(table, using=self.using or sql.TENANT_PREDICATE))
        if model._meta.pk.name == "id":
            schema_editor.execute(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "{_tenant_key_name(table)}"'
                " UNIQUE (organization_id, id);"
            )
        for field in _tenant_foreign_keys(model):
            schema_editor.execute(_composite_fk_sql(model, field))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = self._model(app_label, from_state)
        table = model._meta.db_table
        for field in _tenant_foreign_keys(model):
            schema_editor.execute(
                f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS'
                f' "{_composite_fk_name(table, field.column)}";'
            )
        schema_editor.execute(
            f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{_tenant_key_name(table)}" CASCADE;'
        )
        schema_editor.execute(sql.disable_rls(table))

    def describe(self):
        return f"Put {self.model_name} under row level security and composite tenant keys"

    @property
    def migration_name_fragment(self):
        return f"tenant_{self.model_name.lower()}"


class TenantForeignKey(Operation):
    """Make one foreign key added after `TenantTable` composite as well."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, field_name: str):
        self.model_name = model_name
        self.field_name = field_name

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        schema_editor.execute(_composite_fk_sql(model, model._meta.get_field(self.field_name)))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.field_name)
        table = model._meta.db_table
        schema_editor.execute(
            f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS'
            f' "{_composite_fk_name(table, field.column)}";'
        )

    def describe(self):
        return f"Composite tenant foreign key {self.model_name}.{self.field_name}"


class MemberReference(Operation):
    """A user column of a tenant table (an assignee, an owner) references a membership of
    the row's organization: a composite foreign key (organization_id, column) onto
    memberships (organization_id, user_id), checked at once (ADR 0011).

    Rows that point at a non-member are first left unassigned (they were a leak across
    organizations, never a valid assignment); the owner role reads every organization
    for that by lifting FORCE ROW LEVEL SECURITY within the migration's transaction.
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, model_name: str, field_name: str):
        self.model_name = model_name
        self.field_name = field_name

    def state_forwards(self, app_label, state):
        pass

    def _table_and_column(self, app_label, state) -> tuple[str, str]:
        model = state.apps.get_model(app_label, self.model_name)
        return model._meta.db_table, model._meta.get_field(self.field_name).column

    @staticmethod
    def constraint_name(table: str, column: str) -> str:
        return f"{table[:30]}_{column[:20]}_member_fk"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        table, column = self._table_and_column(app_label, to_state)
        schema_editor.execute(
            f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY;'
            f' UPDATE "{table}" t SET "{column}" = NULL WHERE "{column}" IS NOT NULL'
            " AND NOT EXISTS (SELECT 1 FROM accounts_membership m"
            f' WHERE m.organization_id = t.organization_id AND m.user_id = t."{column}");'
            f' ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY;'
            f' ALTER TABLE "{table}" ADD CONSTRAINT "{self.constraint_name(table, column)}"'
            f' FOREIGN KEY (organization_id, "{column}")'
            " REFERENCES accounts_membership (organization_id, user_id);"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        table, column = self._table_and_column(app_label, from_state)
        schema_editor.execute(
            f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS'
            f' "{self.constraint_name(table, column)}";'
        )

    def describe(self):
        return f"{self.model_name}.{self.field_name} references a membership"


def in_each_organization(schema_editor, statement: str) -> None:
    """Run `statement` once per organization in its context, the organization's id as its
    `%(organization)s`: the tenant policies bind the owner role that migrates too, so a
    migration fills a tenant table's derived columns organization by organization."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_organization")
        for (organization_id,) in cursor.fetchall():
            cursor.execute(
                "SELECT set_config('smartweb.organization_id', %s, true)", [str(organization_id)]
            )
            cursor.execute(statement, {"organization": organization_id})
        cursor.execute("SELECT set_config('smartweb.organization_id', '', true)")
