"""The dashboards' rollup tables: tenant tables under the tenant policy, kept by triggers
on their facts (crm.rollups, ADR 0027), and filled from the facts already there."""

import django.db.models.deletion
from django.db import migrations, models

from crm import rollups
from smartweb.tenancy.operations import TenantTable


def fill(apps, schema_editor):
    """Each organization's rows from its facts, written in its context: the tenant policy
    binds the owner role too (FORCE)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_organization")
        for (organization_id,) in cursor.fetchall():
            cursor.execute(
                "SELECT set_config('smartweb.organization_id', %s, true)", [str(organization_id)]
            )
            for rollup in rollups.ROLLUPS:
                cursor.execute(
                    f"INSERT INTO {rollup.table} ({', '.join(rollup.columns)})"
                    f" {rollup.recomputed()}",
                    [organization_id],
                )
        cursor.execute("SELECT set_config('smartweb.organization_id', '', true)")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_saved_views_resource"),
        ("crm", "0014_history_origin"),
    ]

    operations = [
        migrations.CreateModel(
            name="AICallRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "grain",
                    models.CharField(choices=[("day", "Day"), ("month", "Month")], max_length=5),
                ),
                ("day", models.DateField()),
                ("campaign_id", models.UUIDField()),
                ("status", models.CharField(max_length=12)),
                ("outcome", models.CharField(max_length=20)),
                ("calls", models.BigIntegerField()),
                (
                    "organization",
                    models.ForeignKey(
                        editable=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization", "grain", "day", "campaign_id", "status", "outcome"),
                        name="crm_aicallrollup_key",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="LeadRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "grain",
                    models.CharField(choices=[("day", "Day"), ("month", "Month")], max_length=5),
                ),
                ("day", models.DateField()),
                ("source", models.CharField(max_length=20)),
                ("assigned_to_id", models.UUIDField(null=True)),
                ("status", models.CharField(max_length=20)),
                ("leads", models.BigIntegerField()),
                (
                    "organization",
                    models.ForeignKey(
                        editable=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "organization",
                            "grain",
                            "day",
                            "source",
                            "assigned_to_id",
                            "status",
                        ),
                        name="crm_leadrollup_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="OpportunityRollup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "grain",
                    models.CharField(choices=[("day", "Day"), ("month", "Month")], max_length=5),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("closes", "Closes"),
                            ("created", "Created"),
                            ("closed", "Closed"),
                        ],
                        max_length=8,
                    ),
                ),
                ("day", models.DateField(null=True)),
                ("pipeline_id", models.UUIDField()),
                ("stage_id", models.UUIDField()),
                ("owner_id", models.UUIDField(null=True)),
                ("currency", models.CharField(max_length=3)),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("won", "Won"), ("lost", "Lost")], max_length=6
                    ),
                ),
                ("deals", models.BigIntegerField()),
                ("value", models.DecimalField(decimal_places=2, max_digits=20)),
                ("weighted_value", models.DecimalField(decimal_places=2, max_digits=20)),
                (
                    "organization",
                    models.ForeignKey(
                        editable=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "organization",
                            "kind",
                            "grain",
                            "day",
                            "pipeline_id",
                            "stage_id",
                            "owner_id",
                            "currency",
                            "status",
                        ),
                        name="crm_opportunityrollup_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        TenantTable("aicallrollup"),
        TenantTable("leadrollup"),
        TenantTable("opportunityrollup"),
        migrations.RunSQL(
            "".join(rollup.install_sql() for rollup in rollups.ROLLUPS),
            "".join(rollup.uninstall_sql() for rollup in rollups.ROLLUPS),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
