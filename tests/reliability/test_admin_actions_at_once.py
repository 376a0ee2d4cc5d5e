"""The admin's bulk actions sent by several people at the same moment, against four web
workers: the signature of one contract recorded by four at once is recorded once, the
others told it is no longer possible, none told of a conflict to send again; a contract's
form open while it is signed is not saved, and its sender is told why (not a 403)."""

from __future__ import annotations

import pytest

from accounts.models import Organization
from crm import services
from crm.choices import ContractStatus
from crm.models import Contract
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.clients import StaffBrowser, at_once

PEOPLE = 4


@pytest.fixture(scope="module")
def demo_org(django_db_blocker, live_url):
    with django_db_blocker.unblock():
        return Organization.objects.get(slug="demo")


@pytest.fixture(scope="module")
def people(live_url) -> list[StaffBrowser]:
    return [StaffBrowser(live_url) for _ in range(PEOPLE)]


def _a_sent_contract(demo_org) -> Contract:
    contract = factories.accepted(
        demo_org, factories.proposal(demo_org, factories.opportunity(demo_org))
    )
    with tenant_context(demo_org):
        contract = services.contract_update(
            contract=contract, acting_user=None, signer_name="Sam Signer"
        )
        return services.contract_send(contract=contract, acting_user=None, email=False)


def test_one_signature_recorded_by_several_people_at_once_is_recorded_once(
    people, demo_org, live_url, read
):
    contract = _a_sent_contract(demo_org)
    action = {"action": "sign", "_selected_action": str(contract.pk), "index": "0"}
    answers = at_once(lambda i: people[i].post("/admin/crm/contract/", action), range(PEOPLE))
    shown = [person.shown(answer) for person, answer in zip(people, answers, strict=True)]
    assert sum("Signed: 1." in page for page in shown) == 1
    # The others are refused as a contract signed already is, not as a deadlock.
    refused = "A contract cannot go from &#x27;signed&#x27; to &#x27;signed&#x27;"
    assert sum(refused in page for page in shown) == PEOPLE - 1
    with tenant_context(demo_org):
        stored = Contract.objects.get(pk=contract.pk)
        assert stored.status == ContractStatus.SIGNED
        assert Contract.history.filter(id=contract.pk, status=ContractStatus.SIGNED).count() == 1


def test_a_form_open_while_its_contract_is_signed_is_told_why_it_is_not_saved(
    people, demo_org, live_url, read
):
    contract = _a_sent_contract(demo_org)
    page = f"/admin/crm/contract/{contract.pk}/change/"
    editor, signer = people[:2]
    form = {**editor.form(page, "contract_form"), "terms": "Typed before the signature"}
    action = {"action": "sign", "_selected_action": str(contract.pk), "index": "0"}
    assert "Signed: 1." in signer.shown(signer.post("/admin/crm/contract/", action))
    answer = editor.post(page, form)
    assert (answer.status_code, answer.headers["Location"]) == (302, page)
    shown = editor.shown(answer)
    assert "This contract was changed by admin@demo.smartweb.test since you opened it" in shown
    assert "status is now “signed”" in shown
    assert "and can no longer be changed here: nothing was saved." in shown
    with tenant_context(demo_org):
        assert Contract.objects.get(pk=contract.pk).terms == contract.terms
