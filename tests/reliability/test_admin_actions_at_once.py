"""The admin's bulk actions sent by several people at the same moment, against four web
workers: the signature of one contract recorded by four at once is recorded once, the
others told it is no longer possible, none told of a conflict to send again; an
invitation or an API token revoked by four at once is revoked once, with one audit event;
a contract's form open while it is signed is not saved, and its sender is told why (not a
403)."""

from __future__ import annotations

import uuid

import pytest

from accounts import invitations
from accounts import services as account_services
from accounts.audit import AuditAction
from accounts.models import APIToken, AuditLog, Invitation, Role, User
from crm import services
from crm.choices import ContractStatus
from crm.models import Contract
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.clients import StaffBrowser, at_once

PEOPLE = 4


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


def _a_pending_invitation(demo_org) -> Invitation:
    with tenant_context(demo_org):
        return invitations.invitation_create(
            email=f"revoked-{uuid.uuid4().hex[:8]}@invitee.example",
            role=Role.objects.get(slug="sales_rep"),
            acting_user=None,
            link=lambda token: f"http://testserver/invitations/{token}/",
        )


def _a_token(demo_org) -> APIToken:
    rep = User.objects.get(email="rep@demo.smartweb.test")
    with tenant_context(demo_org, user=rep):
        token, _ = account_services.token_create(
            user=rep, organization_id=demo_org.pk, name=f"Revoked {uuid.uuid4().hex[:6]}"
        )
    return token


REVOCATIONS = {
    "invitation": (
        _a_pending_invitation,
        "/admin/accounts/invitation/",
        AuditAction.INVITATION_REVOKED,
    ),
    "API token": (_a_token, "/admin/accounts/apitoken/", AuditAction.TOKEN_REVOKED),
}


@pytest.mark.parametrize("kind", REVOCATIONS)
def test_one_revocation_sent_by_several_people_at_once_is_recorded_once(
    kind, people, demo_org, live_url, read
):
    made, changelist, audited = REVOCATIONS[kind]
    row = made(demo_org)
    action = {"action": "revoke_selected", "_selected_action": str(row.pk), "index": "0"}
    answers = at_once(lambda i: people[i].post(changelist, action), range(PEOPLE))
    assert {answer.status_code for answer in answers} == {302}
    with tenant_context(demo_org):
        revoked_at = type(row).objects.get(pk=row.pk).revoked_at
        events = AuditLog.objects.filter(action=audited, target_id=str(row.pk))
        assert revoked_at is not None and events.count() == 1
