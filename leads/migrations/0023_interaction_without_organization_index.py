"""The interactions' organization foreign key without its own index: their primary key
(organization_id, id) serves every look-up by organization, and every interaction logged
wrote an entry into both (34 MB at 1M leads; bench/README.md, "Writes")."""

from django.db import migrations

from smartweb.tenancy.distribution import without_organization_index


class Migration(migrations.Migration):
    dependencies = [("leads", "0022_organization_held_by_composite_keys")]

    operations = [
        without_organization_index(
            "interaction", "leads_interaction", "leads_interaction_organization_id_13521b9a"
        )
    ]
