"""The board orders ties by `created_at` (a Lost stage: every weighted value is 0), so
the index carries it, and the ids, so each stage's cards are picked from the index alone;
soft-deleted deals are never on the board, so it leaves them out."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0006_opportunity_stage_statistics")]

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
                include=("id",),
                name="crm_opp_board_stage_top",
            ),
        ),
    ]
