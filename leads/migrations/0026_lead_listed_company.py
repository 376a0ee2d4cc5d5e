"""A lead's company as the lists show it, kept with the lead (`leads_lead.listed_company`,
ADR 0048).

A lead list read each listed lead's company by a sub-select (an index look-up of the
company, then its JSON built): about a third of the largest organization's page
statement at 1M leads (bench/README.md). The column holds the same JSON object, of the
fields of `leads.selectors.LISTED_COMPANY_FIELDS`, and the database keeps it whichever
path writes:

- a lead inserted, or moved to another company: its company is read before the row is
  written (a row trigger);
- a company whose listed fields change (an edit, an enrichment, an erasure): the leads of
  that company are written again, soft-deleted ones too, so that a restore shows it as
  it is.

The triggers run as the writing role under its organization's policies. Django does not
know the column: it is set by the database on insert and never in Django's updates.
`leads.selectors.with_summaries` reads it, and a test compares it with the company's
fields after every kind of write.
"""

from django.db import migrations

from smartweb.tenancy.operations import in_each_organization

LISTED_FIELDS = (
    "id",
    "name",
    "business_type",
    "size",
    "phone",
    "email",
    "website",
    "city",
    "postal_code",
    "online_presence",
    "is_customer",
)
COMPANY_JSON = "json_build_object({})".format(
    ", ".join(f"'{name}', c.\"{name}\"" for name in LISTED_FIELDS)
)
# The company fields whose change rewrites its leads' column (its id never changes).
CHANGED = " OR ".join(
    f'OLD."{name}" IS DISTINCT FROM NEW."{name}"' for name in LISTED_FIELDS if name != "id"
)

INSTALL = f"""
-- Null only for a lead whose company is not there, which its composite key to the company
-- then refuses with its own error.
ALTER TABLE leads_lead ADD COLUMN listed_company json;

CREATE FUNCTION leads_lead_listed_company_of(organization uuid, company uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT {COMPANY_JSON} FROM leads_company c
    WHERE c.organization_id = organization AND c.id = company
$$;

CREATE FUNCTION leads_lead_listed_company_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.listed_company := leads_lead_listed_company_of(NEW.organization_id, NEW.company_id);
    RETURN NEW;
END $$;

CREATE FUNCTION leads_company_listed_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads_lead l
       SET listed_company = leads_lead_listed_company_of(NEW.organization_id, NEW.id)
     WHERE l.organization_id = NEW.organization_id AND l.company_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER leads_lead_listed_company_on_insert BEFORE INSERT ON leads_lead
    FOR EACH ROW EXECUTE FUNCTION leads_lead_listed_company_set();
CREATE TRIGGER leads_lead_listed_company_on_update BEFORE UPDATE OF company_id ON leads_lead
    FOR EACH ROW WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id)
    EXECUTE FUNCTION leads_lead_listed_company_set();
CREATE TRIGGER leads_company_listed_on_update AFTER UPDATE ON leads_company
    FOR EACH ROW WHEN ({CHANGED})
    EXECUTE FUNCTION leads_company_listed_keep();
"""

UNINSTALL = """
DROP TRIGGER leads_company_listed_on_update ON leads_company;
DROP TRIGGER leads_lead_listed_company_on_update ON leads_lead;
DROP TRIGGER leads_lead_listed_company_on_insert ON leads_lead;
DROP FUNCTION leads_company_listed_keep();
DROP FUNCTION leads_lead_listed_company_set();
DROP FUNCTION leads_lead_listed_company_of(uuid, uuid);
ALTER TABLE leads_lead DROP COLUMN listed_company;
"""


def fill(apps, schema_editor):
    in_each_organization(
        schema_editor,
        "UPDATE leads_lead"
        " SET listed_company = leads_lead_listed_company_of(organization_id, company_id)"
        " WHERE organization_id = %(organization)s",
    )


class Migration(migrations.Migration):
    dependencies = [("leads", "0025_history_unread_indexes")]

    operations = [
        migrations.RunSQL(INSTALL, UNINSTALL),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
