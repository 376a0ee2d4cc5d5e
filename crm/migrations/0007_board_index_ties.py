"""The board orders ties by `created_at` (a Lost stage: every weighted value is 0), so
the index carries it; soft-deleted deals are never on the board, so it leaves them out."""

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
                models.F("organization"),
                models.F("pipeline"),
                models.F("stage"),
                models.OrderBy(models.F("weighted_value"), descending=True),
                models.OrderBy(models.F("created_at"), descending=True),
                condition=models.Q(("deleted_at__isnull", True)),
                name="crm_opp_board_stage_top",
            ),
        ),
    ]
