"""A contract's form saved after someone signed the contract: its sender is taken back to
the contract's page, now read-only, told who changed what, and nothing is saved; a member
who may change no contract gets the 403, another organization the 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm import services
from crm.choices import ContractStatus
from crm.models import Contract
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_meanwhile(client, org_a, admin_a, opp_a):
    """The contract's form as its page showed it, terms typed, and the contract signed
    since."""
    contract = factories.accepted(org_a, factories.proposal(org_a, opp_a))
    page = reverse("admin:crm_contract_change", args=[contract.pk])
    client.force_login(admin_a)
    form = form_data(client.get(page).content.decode(), "contract_form")
    form["terms"] = ["Typed before the signature"]
    with tenant_context(org_a):  # signed by the system: no one named as who changed it
        contract = services.contract_update(
            contract=contract, acting_user=None, signer_name="Sam Signer"
        )
        contract = services.contract_send(contract=contract, acting_user=None, email=False)
        services.contract_sign(contract=contract, acting_user=None, signer_name="Sam Signer")
    return contract, page, form


def _terms(org, contract) -> str:
    with tenant_context(org):
        return Contract.objects.get(pk=contract.pk).terms


def test_a_save_after_the_signature_says_why_and_saves_nothing(client, org_a, signed_meanwhile):
    contract, page, form = signed_meanwhile
    answer = client.post(page, form)
    assert (answer.status_code, answer.headers["Location"]) == (302, page)
    shown = client.get(page).content.decode()
    assert "This contract was changed since you opened it" in shown
    assert "status is now “signed”" in shown
    assert "and can no longer be changed here: nothing was saved." in shown
    assert 'name="_save"' not in shown
    assert _terms(org_a, contract) == contract.terms
    with tenant_context(org_a):
        assert Contract.objects.get(pk=contract.pk).status == ContractStatus.SIGNED


def test_one_who_may_change_no_contract_gets_403_and_another_organization_404(
    client, org_a, readonly_a, admin_b, signed_meanwhile
):
    contract, page, form = signed_meanwhile
    client.force_login(readonly_a)
    assert client.post(page, form).status_code == 403
    client.force_login(admin_b)
    assert client.post(page, form).status_code == 404
    assert _terms(org_a, contract) == contract.terms
