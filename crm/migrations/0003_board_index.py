"""The board reads each stage's biggest deals in index order; campaign calling hours
default through callables."""

from django.db import migrations, models

import crm.models


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_tenancy")]

    operations = [
        migrations.RemoveIndex(
            model_name="opportunity",
            name="crm_opp_board",
        ),
        migrations.AlterField(
            model_name="campaign",
            name="calling_hours_end",
            field=models.TimeField(default=crm.models.default_calling_end),
        ),
        migrations.AlterField(
            model_name="campaign",
            name="calling_hours_start",
            field=models.TimeField(default=crm.models.default_calling_start),
        ),
        migrations.AlterField(
            model_name="historicalcampaign",
            name="calling_hours_end",
            field=models.TimeField(default=crm.models.default_calling_end),
        ),
        migrations.AlterField(
            model_name="historicalcampaign",
            name="calling_hours_start",
            field=models.TimeField(default=crm.models.default_calling_start),
        ),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                models.F("organization"),
                models.F("pipeline"),
                models.F("stage"),
                models.OrderBy(models.F("weighted_value"), descending=True),
                name="crm_opp_board_stage_top",
            ),
        ),
    ]
