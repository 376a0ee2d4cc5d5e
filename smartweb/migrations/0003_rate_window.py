"""Fixed-window rate-limit counters (smartweb.rate_limit), shared by every worker."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("smartweb", "0002_backup_role"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateWindow",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("bucket", models.CharField(max_length=64)),
                ("window_start", models.DateTimeField()),
                ("hits", models.PositiveIntegerField(default=0)),
            ],
            options={
                "indexes": [models.Index(fields=["window_start"], name="ratewindow_start")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("bucket", "window_start"), name="ratewindow_unique"
                    )
                ],
            },
        ),
    ]
