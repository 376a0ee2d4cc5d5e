"""An opportunity's lead name as lists and the board show it
(`crm_opportunity.listed_lead_name`, kept by the database, crm migration 0019): after
every kind of write it is the name of its lead's company, in each organization."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm import services
from crm.models import Opportunity
from leads import services as lead_services
from leads.models import Company, Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.derived_columns import disagreeing, kept
from tests.factories import api_client

pytestmark = pytest.mark.django_db

# Each opportunity's kept name and the name read through its lead, as lists read it
# before the column.
THROUGH_THE_LEAD = """
SELECT o.id, o.listed_lead_name, (
    SELECT c.name FROM leads_lead l JOIN leads_company c
        ON c.organization_id = l.organization_id AND c.id = l.company_id
    WHERE l.organization_id = o.organization_id AND l.id = o.lead_id)
FROM crm_opportunity o
"""


def test_the_kept_name_follows_every_kind_of_write(org_a, org_b):
    first = factories.opportunity(org_a, lead=factories.qualified_lead(org_a, company_name="Drip"))
    second = factories.opportunity(org_a)
    other = factories.opportunity(org_b, lead=factories.qualified_lead(org_b, company_name="Drip"))
    with tenant_context(org_a):
        spare = Company.objects.create(organization=org_a, name="Spare Parts")
    duplicate = factories.qualified_lead(org_a, company_name="Dupe & Sons")

    def reload(row):
        return type(row).all_objects.get(pk=row.pk)

    steps = [
        lambda: lead_services.company_update(
            company=reload(first.lead.company), acting_user=None, data={"name": "Drip Drop"}
        ),
        lambda: lead_services.lead_update(
            lead=reload(second.lead), acting_user=None, company_data={"name": "Renamed Co"}
        ),
        lambda: Lead.objects.filter(pk=second.lead_id).update(company=spare),  # a bulk move
        lambda: Company.objects.filter(pk=spare.pk).update(name="Spare Parts Ltd"),
        lambda: services.opportunity_update(
            opportunity=reload(first), acting_user=None, name="A new name"
        ),
        lambda: Opportunity.objects.filter(pk=second.pk).update(lead=duplicate),
        lambda: reload(second).delete(),  # soft: the name is kept
        lambda: lead_services.leads_merge(
            primary=reload(first.lead), duplicates=[duplicate], acting_user=None
        ),
    ]
    for number, step in enumerate(steps):
        with tenant_context(org_a):
            step()
        assert disagreeing(THROUGH_THE_LEAD, org_a, org_b) == [], f"after step {number}"
    assert kept(first, "listed_lead_name") == "Drip Drop"
    # Moved to the duplicate, then merged into the first's lead.
    assert kept(second, "listed_lead_name") == "Drip Drop"
    assert kept(other, "listed_lead_name") == "Drip"  # the other organization's own


def test_an_unchanged_save_writes_no_opportunity(org_a):
    opportunity = factories.opportunity(org_a)
    with tenant_context(org_a), connection.cursor() as cursor:
        company = opportunity.lead.company
        cursor.execute(
            "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'crm_opportunity'"
        )
        (before,) = cursor.fetchone()
        company.save()
        Lead.objects.get(pk=opportunity.lead_id).save()
        cursor.execute(
            "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'crm_opportunity'"
        )
        assert cursor.fetchone() == (before,)


def test_the_board_and_the_list_read_the_kept_name(org_a, admin_a):
    opportunity = factories.opportunity(
        org_a, lead=factories.qualified_lead(org_a, company_name="Sparky")
    )
    with tenant_context(org_a):
        lead_services.company_update(
            company=opportunity.lead.company, acting_user=None, data={"name": "Sparky & Co"}
        )
    client = api_client(admin_a, org_a)
    with CaptureQueriesContext(connection) as captured:
        listed = client.get("/api/v1/opportunities/").json()["results"]
        board = client.get(f"/api/v1/pipelines/{opportunity.pipeline_id}/board/").json()
    assert not any("leads_company" in q["sql"] for q in captured.captured_queries)
    assert [row["lead_name"] for row in listed] == ["Sparky & Co"]
    cards = [card for stage in board["stages"] for card in stage["opportunities"]]
    assert [card["lead_name"] for card in cards] == ["Sparky & Co"]
    detail = client.get(f"/api/v1/opportunities/{opportunity.pk}/").json()
    assert detail["lead_name"] == "Sparky & Co"


def test_each_board_card_is_the_opportunity_as_its_detail_shows_it(org_a, admin_a, rep_a, rep_a2):
    owned = [factories.opportunity(org_a, owner=owner) for owner in (rep_a, rep_a2, rep_a)]
    with tenant_context(org_a):
        Opportunity.objects.filter(pk=owned[2].pk).update(owner=None)
    client = api_client(admin_a, org_a)
    board = client.get(f"/api/v1/pipelines/{owned[0].pipeline_id}/board/").json()
    cards = {card["id"]: card for stage in board["stages"] for card in stage["opportunities"]}
    assert len(cards) == 3
    for card_id, card in cards.items():
        detail = client.get(f"/api/v1/opportunities/{card_id}/").json()
        assert card == detail
    assert cards[str(owned[0].pk)]["owner"] == {
        "id": str(rep_a.pk),
        "email": rep_a.email,
        "full_name": rep_a.full_name,
    }
    assert cards[str(owned[2].pk)]["owner"] is None
