"""A rep's deals indexed in the board's order within each pipeline stage: a rep's board
read every deal of each stage in `crm_opp_board_stage_top` and kept the rep's (3,195 of
3,241 filtered out per stage in the largest organization at 1M leads); it now reads the
rep's own from this index. It replaces the owner index of the same name (organization,
owner, status): the scopes through a rep's deals read its leading columns and the id as
before, the status is carried, so a deal written maintains as many indexes as before."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0021_history_unread_indexes")]

    operations = [
        migrations.RemoveIndex(
            model_name="opportunity",
            name="crm_opp_org_owner",
        ),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=[
                    "organization",
                    "owner",
                    "pipeline",
                    "stage",
                    "-weighted_value",
                    "-created_at",
                ],
                include=("id", "status"),
                name="crm_opp_org_owner",
            ),
        ),
    ]
