"""Dependency statistics on an opportunity's organization, pipeline and stage.

The board reads each stage's top deals through `crm_opp_board_stage_top` with all three
columns as conditions. Taken as independent, their selectivities multiply: a large
organization's stage (3,000+ opportunities at 1M leads) was estimated at ~60 rows, and
the planner joined and sorted the whole stage instead of reading 50 rows in index order
(10–30 ms instead of 0.3 ms per stage). A stage belongs to one pipeline of one
organization; these statistics tell the planner so.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_sales_dashboard")]

    operations = [
        migrations.RunSQL(
            "CREATE STATISTICS IF NOT EXISTS crm_opp_stage_dependencies (dependencies)"
            " ON organization_id, pipeline_id, stage_id FROM crm_opportunity;"
            " ANALYZE crm_opportunity;",
            "DROP STATISTICS IF EXISTS crm_opp_stage_dependencies;",
        )
    ]
