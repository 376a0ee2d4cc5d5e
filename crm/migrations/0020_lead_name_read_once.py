"""A lead that moves to another company: its name is read once for all its opportunities
(crm 0019 read it twice per opportunity, in the SET and in the WHERE)."""

from django.db import migrations

ONCE = """
CREATE OR REPLACE FUNCTION leads_lead_opportunity_names_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lead_name text := crm_opportunity_lead_name_of(NEW.organization_id, NEW.id);
BEGIN
    UPDATE crm_opportunity o SET listed_lead_name = lead_name
     WHERE o.organization_id = NEW.organization_id AND o.lead_id = NEW.id
       AND o.listed_lead_name IS DISTINCT FROM lead_name;
    RETURN NULL;
END $$;
"""

PER_OPPORTUNITY = """
CREATE OR REPLACE FUNCTION leads_lead_opportunity_names_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE crm_opportunity o
       SET listed_lead_name = crm_opportunity_lead_name_of(o.organization_id, o.lead_id)
     WHERE o.organization_id = NEW.organization_id AND o.lead_id = NEW.id
       AND o.listed_lead_name IS DISTINCT FROM
           crm_opportunity_lead_name_of(o.organization_id, o.lead_id);
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("crm", "0019_opportunity_listed_lead_name")]

    operations = [migrations.RunSQL(ONCE, PER_OPPORTUNITY)]
