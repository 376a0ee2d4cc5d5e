"""A foreign key Django adds between two tenant tables references `(organization_id, id)`
once the target's primary key is `(organization_id, id)` (smartweb.tenancy.distribution):
the single-column `REFERENCES target (id)` would find no unique key to reference there.

Which form applies is decided when the statement runs, not when it is written, because a
migration's foreign keys are created at its end: the tables of the migrations written
before the keys were widened still have `(id)` and get Django's key, as they always did.
"""

from django.db.backends.ddl_references import Statement
from django.db.backends.postgresql import schema

from smartweb.tenancy.distribution import DISTRIBUTION_COLUMN
from smartweb.tenancy.operations import is_tenant_model

_BY_ORGANIZATION = f"""DO $fk$ BEGIN
IF EXISTS (
    SELECT 1 FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid
    WHERE c.conrelid = '%(to_table)s'::regclass AND c.contype = 'p'
      AND a.attnum = ANY (c.conkey) AND a.attname = '{DISTRIBUTION_COLUMN}'
) THEN
    ALTER TABLE %(table)s ADD CONSTRAINT %(name)s FOREIGN KEY ("{DISTRIBUTION_COLUMN}", %(column)s)
    REFERENCES %(to_table)s ("{DISTRIBUTION_COLUMN}", %(to_column)s)%(deferrable)s;
ELSE
    ALTER TABLE %(table)s ADD CONSTRAINT %(name)s FOREIGN KEY (%(column)s)
    REFERENCES %(to_table)s (%(to_column)s)%(deferrable)s;
END IF;
END $fk$"""


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _create_fk_sql(self, model, field, suffix):
        statement = super()._create_fk_sql(model, field, suffix)
        if (
            field.name == "organization"
            or not is_tenant_model(model)
            or not is_tenant_model(field.related_model)
        ):
            return statement
        return Statement(_BY_ORGANIZATION, **statement.parts)
