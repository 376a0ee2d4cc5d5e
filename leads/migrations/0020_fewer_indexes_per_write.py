"""Fewer indexes for each lead, company and tag link written (bench/README.md, "Writes").

- `lead_org_status_score` (every lead by organization, status, score): its twin of live
  leads, `lead_active_status_score`, serves every list; no query reads deleted leads in
  that order.
- `leadtag_org_lead` (organization, lead): the first two columns of the unique key
  (organization, lead, tag), which serves the same look-ups.
- The organization foreign key's own index on leads, companies and tag links: their
  primary key (organization_id, id) serves every look-up by organization (ADR 0035).

Django would drop and re-add the foreign key constraint to drop its index, checking every
row again; the index goes alone.
"""

import django.db.models.deletion
from django.db import migrations, models

ORGANIZATION_INDEXES = {
    "lead": ("leads_lead", "leads_lead_organization_id_32e3ac83"),
    "company": ("leads_company", "leads_company_organization_id_638fcbed"),
    "leadtag": ("leads_leadtag", "leads_leadtag_organization_id_ba6e4f69"),
}


def _without_organization_index(model_name: str, table: str, index: str):
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(
                model_name=model_name,
                name="organization",
                field=models.ForeignKey(
                    db_index=False,
                    editable=False,
                    on_delete=django.db.models.deletion.PROTECT,
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


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_apitoken_sso_authorization"),
        ("leads", "0019_lead_form_tenancy"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="lead", name="lead_org_status_score"),
        migrations.RemoveIndex(model_name="leadtag", name="leadtag_org_lead"),
        *(
            _without_organization_index(model_name, table, index)
            for model_name, (table, index) in ORGANIZATION_INDEXES.items()
        ),
    ]
