"""A deal's page lists its proposals and contracts, each with a link to its own page
named for what that page lets the user do with it: "Change" while it can be changed,
"View" once it cannot (a signed contract), and "View" to a member who may change none."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from crm import services
from smartweb.tenancy.context import tenant_context
from tests.crm import factories

pytestmark = pytest.mark.django_db


def _links_to(client, page: str, record_page: str) -> list[str]:
    html = client.get(page).content.decode()
    return re.findall(rf'<a href="{re.escape(record_page)}"[^>]*>([^<]*)</a>', html)


@pytest.fixture
def contract_of(org_a, opp_a):
    contract = factories.accepted(org_a, factories.proposal(org_a, opp_a))
    return contract, reverse("admin:crm_contract_change", args=[contract.pk])


def _sign(org, contract) -> None:
    with tenant_context(org):
        contract = services.contract_update(contract=contract, acting_user=None, signer_name="S")
        contract = services.contract_send(contract=contract, acting_user=None, email=False)
        services.contract_sign(contract=contract, acting_user=None, signer_name="S")


def test_a_draft_contract_is_changed_and_a_signed_one_viewed_from_its_deal(
    client, org_a, admin_a, opp_a, contract_of
):
    contract, contract_page = contract_of
    deal_page = reverse("admin:crm_opportunity_change", args=[opp_a.pk])
    client.force_login(admin_a)
    assert _links_to(client, deal_page, contract_page) == ["Change"]

    _sign(org_a, contract)
    assert _links_to(client, deal_page, contract_page) == ["View"]
    proposal_page = reverse("admin:crm_proposal_change", args=[contract.proposal_id])
    assert _links_to(client, proposal_page, contract_page) == ["View"]


def test_a_member_who_may_change_no_contract_views_it(
    client, org_a, readonly_a, opp_a, contract_of
):
    _, contract_page = contract_of
    client.force_login(readonly_a)
    deal_page = reverse("admin:crm_opportunity_change", args=[opp_a.pk])
    assert _links_to(client, deal_page, contract_page) == ["View"]
