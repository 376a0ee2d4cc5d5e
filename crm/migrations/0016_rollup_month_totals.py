"""Rollups keyed by owner also count each month once for every owner together (grain
'total', crm.rollups): the triggers are written again, and each organization's totals
are filled from its facts."""

from django.db import migrations, models

from crm import rollups

OWNED = (rollups.OPPORTUNITIES, rollups.LEADS)


def fill_totals(apps, schema_editor):
    """Each organization's total rows, in its context (the tenant policy binds the owner
    role too). Those a database migrated with this code's triggers already has are
    replaced, not added to."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_organization")
        for (organization_id,) in cursor.fetchall():
            cursor.execute(
                "SELECT set_config('smartweb.organization_id', %s, true)", [str(organization_id)]
            )
            for rollup in OWNED:
                cursor.execute(
                    f"DELETE FROM {rollup.table} WHERE organization_id = %s AND grain = 'total'",
                    [organization_id],
                )
                cursor.execute(
                    f"INSERT INTO {rollup.table} ({', '.join(rollup.columns)})"
                    f" SELECT * FROM ({rollup.recomputed()}) r WHERE r.grain = 'total'",
                    [organization_id],
                )
        cursor.execute("SELECT set_config('smartweb.organization_id', '', true)")


GRAINS = [("day", "Day"), ("month", "Month"), ("total", "Total")]


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0015_dashboard_rollups"),
    ]

    operations = [
        *(
            migrations.AlterField(
                model_name=model,
                name="grain",
                field=models.CharField(choices=GRAINS, max_length=5),
            )
            for model in ("aicallrollup", "leadrollup", "opportunityrollup")
        ),
        migrations.RunSQL("".join(r.uninstall_sql() + r.install_sql() for r in OWNED)),
        migrations.RunPython(fill_totals),
    ]
