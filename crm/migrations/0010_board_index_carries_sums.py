"""The board index also carries each deal's owner, currency and value, so that the board
sums its stages (and checks a rep's own scope) from the index alone, an index-only scan.

Rebuilt under the same name: a database that had it already gets the same index again."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_deleted_rows_index"),
        ("crm", "0009_deleted_rows_index"),
        ("leads", "0011_search_interactions_and_short_fragments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="opportunity",
            name="crm_opp_board_stage_top",
        ),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["organization", "pipeline", "stage", "-weighted_value", "-created_at"],
                include=("id", "owner", "currency", "value"),
                name="crm_opp_board_stage_top",
            ),
        ),
    ]
