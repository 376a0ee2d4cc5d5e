"""A rep's deals index covers only live deals and carries their id: a rep's own scope over
proposals and contracts (a sub-select of the rep's deals, smartweb.access) reads it alone,
an index-only scan, instead of each deal's heap row for its id and whether it is deleted.

Rebuilt under the same name: a database that had it already gets the new one."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_deleted_rows_index"),
        ("crm", "0010_board_index_carries_sums"),
        ("leads", "0011_search_interactions_and_short_fragments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="opportunity",
            name="crm_opp_org_owner",
        ),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["organization", "owner", "status"],
                include=("id",),
                name="crm_opp_org_owner",
            ),
        ),
    ]
