"""The tables written most keep no index that their primary key already serves: each row
written maintains every index of its table."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

# Every lead, company, tag link, interaction, deal, proposal, contract, call and task
# written, and the rollup rows each of those writes updates.
BUSIEST = (
    "leads_lead",
    "leads_company",
    "leads_leadtag",
    "leads_interaction",
    "crm_opportunity",
    "crm_proposal",
    "crm_proposallineitem",
    "crm_contract",
    "crm_aicall",
    "crm_task",
    "crm_opportunityrollup",
    "crm_leadrollup",
    "crm_aicallrollup",
)


def test_no_busy_table_indexes_the_organization_alone():
    """Their primary key (organization_id, id) serves every look-up by organization."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid),"
            " pg_get_indexdef(p.indexrelid)"
            " FROM pg_index i JOIN pg_index p ON p.indrelid = i.indrelid AND p.indisprimary"
            " WHERE i.indrelid::regclass::text = ANY(%s) AND i.indnatts = 1"
            " AND i.indpred IS NULL AND NOT i.indisunique"
            " AND i.indkey[0] = (SELECT attnum FROM pg_attribute"
            "   WHERE attrelid = i.indrelid AND attname = 'organization_id')",
            [list(BUSIEST)],
        )
        redundant = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM pg_index p WHERE p.indisprimary"
            " AND p.indrelid::regclass::text = ANY(%s)"
            " AND pg_get_indexdef(p.indexrelid) LIKE '%%(organization_id, %%'",
            [list(BUSIEST)],
        )
        keyed_by_organization = cursor.fetchone()[0]
    assert redundant == []
    assert keyed_by_organization == len(BUSIEST)
