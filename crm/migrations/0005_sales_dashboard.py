"""The sales dashboard's entry in the admin (a model without a table)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_open_opportunities_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="SalesDashboard",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "verbose_name": "sales dashboard",
                "verbose_name_plural": "sales dashboard",
                "managed": False,
            },
        ),
    ]
