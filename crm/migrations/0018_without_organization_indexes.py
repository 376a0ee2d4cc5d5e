"""The CRM's busiest tables and the rollups without the organization foreign key's own
index: each primary key (organization_id, id) serves every look-up by organization, and
every write (every lead, deal and call write updates a rollup row) kept both."""

from django.db import migrations

from smartweb.tenancy.distribution import without_organization_index

ORGANIZATION_INDEXES = {
    "opportunity": ("crm_opportunity", "crm_opportunity_organization_id_e7b515c8"),
    "proposal": ("crm_proposal", "crm_proposal_organization_id_03bf642c"),
    "proposallineitem": ("crm_proposallineitem", "crm_proposallineitem_organization_id_70356dfd"),
    "contract": ("crm_contract", "crm_contract_organization_id_57fa4071"),
    "aicall": ("crm_aicall", "crm_aicall_organization_id_608a121d"),
    "task": ("crm_task", "crm_task_organization_id_ca74acb5"),
    "opportunityrollup": (
        "crm_opportunityrollup",
        "crm_opportunityrollup_organization_id_7d1a2172",
    ),
    "leadrollup": ("crm_leadrollup", "crm_leadrollup_organization_id_4fa54766"),
    "aicallrollup": ("crm_aicallrollup", "crm_aicallrollup_organization_id_da8f6825"),
}


class Migration(migrations.Migration):
    dependencies = [("crm", "0017_lead_rollup_owner_index")]

    operations = [
        without_organization_index(model_name, table, index)
        for model_name, (table, index) in ORGANIZATION_INDEXES.items()
    ]
