"""An opportunity's lead's company name as the lists and the board show it, kept with the
opportunity (`crm_opportunity.listed_lead_name`, ADR 0038).

The board's 300 cards and the opportunity lists read each card's lead, then its company,
by a sub-select: about 3.5 of the board's 7-8 ms at 1M leads (bench/README.md). The
column holds the same name, and the database keeps it whichever path writes:

- an opportunity inserted, or moved to another lead: its name is read before the row is
  written (a row trigger);
- a lead moved to another company, a company renamed: the opportunities of that lead or
  company are written, those whose name reads the same are not.

The triggers run as the writing role under its organization's policies. Django does not
know the column: it is set by the database on insert and never in Django's updates.
`crm.selectors.with_names` reads it, and a test compares it with the name read through
the lead after every kind of write.
"""

from django.db import migrations

from smartweb.tenancy.operations import in_each_organization

INSTALL = """
ALTER TABLE crm_opportunity ADD COLUMN listed_lead_name text;

CREATE FUNCTION crm_opportunity_lead_name_of(organization uuid, lead uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT c.name FROM leads_lead l JOIN leads_company c
        ON c.organization_id = l.organization_id AND c.id = l.company_id
    WHERE l.organization_id = organization AND c.organization_id = organization
      AND l.id = lead
$$;

CREATE FUNCTION crm_opportunity_lead_name_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.listed_lead_name := crm_opportunity_lead_name_of(NEW.organization_id, NEW.lead_id);
    RETURN NEW;
END $$;

CREATE FUNCTION leads_lead_opportunity_names_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE crm_opportunity o
       SET listed_lead_name = crm_opportunity_lead_name_of(o.organization_id, o.lead_id)
     WHERE o.organization_id = NEW.organization_id AND o.lead_id = NEW.id
       AND o.listed_lead_name IS DISTINCT FROM
           crm_opportunity_lead_name_of(o.organization_id, o.lead_id);
    RETURN NULL;
END $$;

CREATE FUNCTION leads_company_opportunity_names_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE crm_opportunity o SET listed_lead_name = NEW.name
      FROM leads_lead l
     WHERE l.organization_id = NEW.organization_id AND l.company_id = NEW.id
       AND o.organization_id = NEW.organization_id AND o.lead_id = l.id
       AND o.listed_lead_name IS DISTINCT FROM NEW.name;
    RETURN NULL;
END $$;

CREATE TRIGGER crm_opportunity_lead_name_on_insert BEFORE INSERT ON crm_opportunity
    FOR EACH ROW EXECUTE FUNCTION crm_opportunity_lead_name_set();
CREATE TRIGGER crm_opportunity_lead_name_on_update BEFORE UPDATE OF lead_id ON crm_opportunity
    FOR EACH ROW WHEN (OLD.lead_id IS DISTINCT FROM NEW.lead_id)
    EXECUTE FUNCTION crm_opportunity_lead_name_set();
CREATE TRIGGER leads_lead_opportunity_names AFTER UPDATE OF company_id ON leads_lead
    FOR EACH ROW WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id)
    EXECUTE FUNCTION leads_lead_opportunity_names_keep();
CREATE TRIGGER leads_company_opportunity_names AFTER UPDATE OF name ON leads_company
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION leads_company_opportunity_names_keep();
"""

UNINSTALL = """
DROP TRIGGER leads_company_opportunity_names ON leads_company;
DROP TRIGGER leads_lead_opportunity_names ON leads_lead;
DROP TRIGGER crm_opportunity_lead_name_on_update ON crm_opportunity;
DROP TRIGGER crm_opportunity_lead_name_on_insert ON crm_opportunity;
DROP FUNCTION leads_company_opportunity_names_keep();
DROP FUNCTION leads_lead_opportunity_names_keep();
DROP FUNCTION crm_opportunity_lead_name_set();
DROP FUNCTION crm_opportunity_lead_name_of(uuid, uuid);
ALTER TABLE crm_opportunity DROP COLUMN listed_lead_name;
"""


def fill(apps, schema_editor):
    in_each_organization(
        schema_editor,
        "UPDATE crm_opportunity"
        " SET listed_lead_name = crm_opportunity_lead_name_of(organization_id, lead_id)"
        " WHERE organization_id = %(organization)s",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0018_without_organization_indexes"),
        ("leads", "0024_lead_listed_tags"),
    ]

    operations = [
        migrations.RunSQL(INSTALL, UNINSTALL),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
