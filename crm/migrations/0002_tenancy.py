"""Row level security and composite tenant keys on every CRM table, history included.

Referenced tables come before the tables that reference them: a composite foreign key
needs the `(organization_id, id)` key of its target (the leads tables have theirs from
leads.0002_tenancy).
"""

from django.db import migrations

from smartweb.tenancy.operations import TenantTable


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial"), ("leads", "0002_tenancy")]

    operations = [
        TenantTable("pipeline"),
        TenantTable("pipelinestage"),
        TenantTable("opportunity"),
        TenantTable("proposal"),
        TenantTable("proposallineitem"),
        TenantTable("contract"),
        TenantTable("campaign"),
        TenantTable("aicall"),
        TenantTable("task"),
        TenantTable("aicallwebhooksecret"),
        TenantTable("historicalpipeline"),
        TenantTable("historicalpipelinestage"),
        TenantTable("historicalopportunity"),
        TenantTable("historicalproposal"),
        TenantTable("historicalproposallineitem"),
        TenantTable("historicalcontract"),
        TenantTable("historicalcampaign"),
        TenantTable("historicalaicall"),
        TenantTable("historicaltask"),
    ]
