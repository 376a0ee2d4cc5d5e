"""A lead's tags as the lists show them, kept with the lead (`leads_lead.listed_tags`).

A lead list read each listed lead's tags by a sub-select (the tag links of the lead, then
their tags): ~0.55 ms of the largest organization's page of 50 at 1M leads, a third of
what the page costs above its bare rows (bench/README.md). The column holds the same
JSON, `[{"id", "name", "color"}, ...]` by name, live tags only, and is kept by the
database in the statement that changes what it shows, whichever path writes:

- a tag link added, removed or moved (services, imports, merges, an organization's move):
  the leads of the links the statement changed are read again;
- a tag renamed, recoloured, soft-deleted or restored: its leads are read again.

The triggers run as the writing role under its organization's policies, like the
rollups' (ADR 0027). A lead whose tags read the same is not written. Django does not
know the column: it has its default on insert, except in the CSV import, which inserts
each lead with its value (links first), and it is never in Django's updates.
`leads.selectors.with_summaries` reads it, and a test compares it with the tags read
from the links after every kind of write.
"""

from django.db import migrations

from smartweb.tenancy.operations import in_each_organization

INSTALL = """
ALTER TABLE leads_lead ADD COLUMN listed_tags json NOT NULL DEFAULT '[]';

-- One lead's live tags as lists show them, by name. The import writes a lead's value
-- with it on insert (its links go in first), so that the triggers below find nothing
-- to rewrite.
CREATE FUNCTION leads_lead_listed_tags_of(organization uuid, lead uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object(
               'id', t."id", 'name', t."name", 'color', t."color") ORDER BY t.name), '[]')
    FROM leads_tag t WHERE t.organization_id = organization AND t.deleted_at IS NULL
      AND t.id IN (SELECT x.tag_id FROM leads_leadtag x
                   WHERE x.organization_id = organization AND x.lead_id = lead)
$$;

CREATE FUNCTION leads_lead_listed_tags_refresh(leads uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE leads_lead SET listed_tags = f.tags
    FROM (SELECT l.organization_id, l.id,
                 leads_lead_listed_tags_of(l.organization_id, l.id) AS tags
          FROM leads_lead l WHERE l.id = ANY(leads)) f
    WHERE leads_lead.organization_id = f.organization_id AND leads_lead.id = f.id
      AND leads_lead.listed_tags::text IS DISTINCT FROM f.tags::text
$$;

CREATE FUNCTION leads_leadtag_listed_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM leads_lead_listed_tags_refresh(ARRAY(SELECT DISTINCT lead_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM leads_lead_listed_tags_refresh(ARRAY(SELECT DISTINCT lead_id FROM old_rows));
    ELSE
        PERFORM leads_lead_listed_tags_refresh(
            ARRAY(SELECT lead_id FROM old_rows UNION SELECT lead_id FROM new_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION leads_tag_listed_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM leads_lead_listed_tags_refresh(ARRAY(
        SELECT DISTINCT x.lead_id FROM leads_leadtag x
        JOIN new_rows n ON x.organization_id = n.organization_id AND x.tag_id = n.id
        JOIN old_rows o ON o.organization_id = n.organization_id AND o.id = n.id
        WHERE (n.name, n.color, n.deleted_at) IS DISTINCT FROM (o.name, o.color, o.deleted_at)
    ));
    RETURN NULL;
END $$;

CREATE TRIGGER leads_leadtag_listed_on_insert AFTER INSERT ON leads_leadtag
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_leadtag_listed_keep();
CREATE TRIGGER leads_leadtag_listed_on_update AFTER UPDATE ON leads_leadtag
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_leadtag_listed_keep();
CREATE TRIGGER leads_leadtag_listed_on_delete AFTER DELETE ON leads_leadtag
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_leadtag_listed_keep();
CREATE TRIGGER leads_tag_listed_on_update AFTER UPDATE ON leads_tag
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_tag_listed_keep();
"""

UNINSTALL = """
DROP TRIGGER leads_tag_listed_on_update ON leads_tag;
DROP TRIGGER leads_leadtag_listed_on_delete ON leads_leadtag;
DROP TRIGGER leads_leadtag_listed_on_update ON leads_leadtag;
DROP TRIGGER leads_leadtag_listed_on_insert ON leads_leadtag;
DROP FUNCTION leads_tag_listed_keep();
DROP FUNCTION leads_leadtag_listed_keep();
DROP FUNCTION leads_lead_listed_tags_refresh(uuid[]);
DROP FUNCTION leads_lead_listed_tags_of(uuid, uuid);
ALTER TABLE leads_lead DROP COLUMN listed_tags;
"""


def fill(apps, schema_editor):
    in_each_organization(
        schema_editor,
        "SELECT leads_lead_listed_tags_refresh(ARRAY("
        "SELECT DISTINCT lead_id FROM leads_leadtag WHERE organization_id = %(organization)s))",
    )


class Migration(migrations.Migration):
    dependencies = [("leads", "0023_interaction_without_organization_index")]

    operations = [
        migrations.RunSQL(INSTALL, UNINSTALL),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
