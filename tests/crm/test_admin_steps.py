"""The next steps of the opportunity, proposal, contract and task pages: only those
allowed now are offered, each goes through the services (a refusal keeps the input), 403
without the permission, 404 for another organization's row or one out of the user's
scope."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.choices import ContractStatus, OpportunityStatus, ProposalStatus, TaskStatus
from crm.models import Contract, Opportunity, PipelineStage, Proposal
from leads.choices import LeadStatus
from leads.models import Lead
from mailing.models import EmailMessage
from smartweb.tenancy.context import tenant_context
from tests.crm import factories

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def _offered(client, obj) -> set[str]:
    meta = obj._meta
    response = client.get(reverse(f"admin:crm_{meta.model_name}_change", args=[obj.pk]))
    assert response.status_code == 200
    return set(re.findall(r'data-step="([\w-]+)"', response.content.decode()))


def _step(obj, name: str) -> str:
    return reverse(f"admin:crm_{obj._meta.model_name}_step", args=[obj.pk, name])


def _stored(org, obj):
    with tenant_context(org):
        return type(obj).all_objects.get(pk=obj.pk)


def test_an_open_opportunity_moves_to_any_open_stage(client, org_a, rep_a, opp_a):
    _login(client, rep_a)
    assert _offered(client, opp_a) == {"move", "won", "lost", "proposal"}
    with tenant_context(org_a):
        negotiation = PipelineStage.objects.get(pipeline=opp_a.pipeline, name="Negotiation")
    form = client.get(_step(opp_a, "move")).content.decode()
    assert "Negotiation" in form and ">Won<" not in form and ">Lost<" not in form
    assert client.post(_step(opp_a, "move"), {"stage": negotiation.pk}).status_code == 302
    moved = _stored(org_a, opp_a)
    assert moved.stage_id == negotiation.pk and moved.probability == negotiation.probability


def test_lost_asks_why_and_a_closed_opportunity_offers_no_move(client, org_a, rep_a, opp_a):
    _login(client, rep_a)
    refused = client.post(_step(opp_a, "lost"), {"reason": "  "})
    assert refused.status_code == 200
    assert "Say why the opportunity was lost." in refused.content.decode()
    assert _stored(org_a, opp_a).status == OpportunityStatus.OPEN
    assert client.post(_step(opp_a, "lost"), {"reason": "Went elsewhere"}).status_code == 302
    lost = _stored(org_a, opp_a)
    assert lost.status == OpportunityStatus.LOST and lost.lost_reason == "Went elsewhere"
    assert _offered(client, lost) == {"reopen"}
    again = client.post(_step(opp_a, "won"), {"reason": "Changed their mind"}, follow=True)
    assert "is not possible now" in again.content.decode()
    assert _stored(org_a, opp_a).status == OpportunityStatus.LOST


def test_won_asks_why_as_the_board_does_and_keeps_it_in_the_history(
    client, org_a, manager_a, opp_a
):
    _login(client, manager_a)
    form = client.get(_step(opp_a, "won")).content.decode()
    assert "Why was it won?" in form and 'maxlength="100"' in form
    for reason, error in (
        ("", "Say why the opportunity was won."),
        ("x" * 101, "Say why it was won in 100 characters at most."),
    ):
        refused = client.post(_step(opp_a, "won"), {"reason": reason})
        assert refused.status_code == 200 and error in refused.content.decode()
        assert reason in refused.content.decode()  # the answer is kept on the form
        assert _stored(org_a, opp_a).status == OpportunityStatus.OPEN
    done = client.post(_step(opp_a, "won"), {"reason": " Loved the demo site "})
    assert done.status_code == 302
    won = _stored(org_a, opp_a)
    assert won.status == OpportunityStatus.WON and won.lost_reason == ""
    with tenant_context(org_a):
        latest = won.history.latest()
    assert (latest.history_change_reason, latest.history_user_id) == (
        "Loved the demo site",
        manager_a.pk,
    )


def test_from_a_draft_proposal_to_a_signed_contract(client, org_a, rep_a, opp_a):
    proposal = factories.proposal(org_a, opp_a)
    _login(client, rep_a)
    assert _offered(client, proposal) == {"send"}
    assert client.post(_step(proposal, "send"), {}).status_code == 302
    assert _offered(client, _stored(org_a, proposal)) == {"accept", "reject"}
    accepted = client.post(_step(proposal, "accept"), {})
    assert _stored(org_a, proposal).status == ProposalStatus.ACCEPTED
    with tenant_context(org_a):
        contract = Contract.objects.get(proposal=proposal)
    assert accepted["Location"] == reverse("admin:crm_contract_change", args=[contract.pk])
    assert _offered(client, contract) == {"send", "sign"}

    # A signature in the future is refused by the service; what was typed stays.
    future = (timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    refused = client.post(
        _step(contract, "sign"), {"signer_name": "Dana Drip", "signed_at": future}
    )
    body = refused.content.decode()
    assert refused.status_code == 200 and "cannot be signed in the future" in body
    assert 'value="Dana Drip"' in body
    assert _stored(org_a, contract).status == ContractStatus.DRAFT

    signed = client.post(_step(contract, "sign"), {"signer_name": "Dana Drip", "signed_at": ""})
    assert signed.status_code == 302
    contract = _stored(org_a, contract)
    assert contract.status == ContractStatus.SIGNED and contract.signer_name == "Dana Drip"
    assert _stored(org_a, opp_a).status == OpportunityStatus.WON
    with tenant_context(org_a):
        assert Lead.objects.get(pk=opp_a.lead_id).status == LeadStatus.CONVERTED
    assert _offered(client, contract) == set()


def test_a_rejected_proposal_keeps_the_reason(client, org_a, rep_a, opp_a):
    proposal = factories.proposal(org_a, opp_a)
    with tenant_context(org_a):
        services.proposal_send(proposal=proposal, acting_user=None)
    _login(client, rep_a)
    assert client.post(_step(proposal, "reject"), {"reason": "Too dear"}).status_code == 302
    rejected = _stored(org_a, proposal)
    assert rejected.status == ProposalStatus.REJECTED and rejected.rejection_reason == "Too dear"


def test_without_the_permission_the_steps_are_403(client, org_a, readonly_a, opp_a):
    proposal = factories.proposal(org_a, opp_a)
    _login(client, readonly_a)
    assert _offered(client, opp_a) == set() and _offered(client, proposal) == set()
    for obj, name in ((opp_a, "move"), (opp_a, "lost"), (proposal, "send")):
        assert client.get(_step(obj, name)).status_code == 403
        assert client.post(_step(obj, name), {"reason": "x"}).status_code == 403
    assert _stored(org_a, opp_a).status == OpportunityStatus.OPEN


def test_another_organizations_or_another_reps_rows_are_404(client, org_a, admin_b, rep_a2, opp_a):
    proposal = factories.proposal(org_a, opp_a)
    for user in (admin_b, rep_a2):
        _login(client, user)
        for obj, name in ((opp_a, "move"), (opp_a, "won"), (proposal, "send")):
            assert client.get(_step(obj, name)).status_code == 404
            assert client.post(_step(obj, name), {}).status_code == 404
    assert _stored(org_a, opp_a).status == OpportunityStatus.OPEN
    with tenant_context(org_a):
        assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.DRAFT
        assert Opportunity.objects.filter(pk=opp_a.pk).exists()


def _lose(org, opp) -> None:
    with tenant_context(org):
        services.opportunity_move_stage(
            opportunity=opp,
            stage=opp.pipeline.stage_flagged("is_lost"),
            acting_user=None,
            lost_reason="Went elsewhere",
        )


def _win(org, opp) -> None:
    with tenant_context(org):
        services.opportunity_move_stage(
            opportunity=opp, stage=opp.pipeline.stage_flagged("is_won"), acting_user=None
        )


@pytest.mark.parametrize("close", [_lose, _win], ids=["lost", "won"])
def test_a_proposal_of_a_closed_deal_is_offered_no_answer(client, org_a, rep_a, opp_a, close):
    proposal = factories.proposal(org_a, opp_a)
    with tenant_context(org_a):
        services.proposal_send(proposal=proposal, acting_user=None, email=False)
    close(org_a, opp_a)
    _login(client, rep_a)
    # Neither accepting nor rejecting: the deal is closed (the service refuses both).
    assert _offered(client, _stored(org_a, proposal)) == set()
    for action, label in (("mark_accepted", "Mark accepted"), ("mark_rejected", "Mark rejected")):
        listed = client.post(
            reverse("admin:crm_proposal_changelist"),
            {"action": action, "_selected_action": [str(proposal.pk)]},
            follow=True,
        )
        messages = [str(message) for message in listed.context["messages"]]
        assert messages == [f"{proposal}: “{label}” is not possible now."]
    refused = client.post(_step(proposal, "reject"), {"reason": "Too late"}, follow=True)
    assert "“Mark rejected” is not possible now." in refused.content.decode()
    stored = _stored(org_a, proposal)
    assert stored.status == ProposalStatus.SENT and stored.rejected_at is None
    with tenant_context(org_a):
        assert not Contract.objects.filter(proposal=proposal).exists()


def test_an_expired_proposal_is_offered_no_answer(client, org_a, rep_a, opp_a):
    proposal = factories.proposal(org_a, opp_a)
    with tenant_context(org_a):
        services.proposal_send(proposal=proposal, acting_user=None, email=False)
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        Proposal.objects.filter(pk=proposal.pk).update(valid_until=yesterday)
    _login(client, rep_a)
    assert _offered(client, _stored(org_a, proposal)) == set()
    assert _stored(org_a, proposal).status == ProposalStatus.SENT


@pytest.mark.parametrize("close", ["won", "lost"])
def test_a_closed_deal_is_reopened_into_an_open_stage(client, org_a, rep_a, opp_a, close):
    _login(client, rep_a)
    assert client.post(_step(opp_a, close), {"reason": "Went elsewhere"}).status_code == 302
    closed = _stored(org_a, opp_a)
    assert _offered(client, closed) == {"reopen"}
    form = client.get(_step(closed, "reopen")).content.decode()
    assert "Negotiation" in form and ">Won<" not in form and ">Lost<" not in form
    with tenant_context(org_a):
        negotiation = PipelineStage.objects.get(pipeline=opp_a.pipeline, name="Negotiation")
    assert client.post(_step(closed, "reopen"), {"stage": negotiation.pk}).status_code == 302
    reopened = _stored(org_a, opp_a)
    assert (reopened.status, reopened.stage_id) == (OpportunityStatus.OPEN, negotiation.pk)
    assert reopened.closed_at is None and reopened.lost_reason == ""
    assert "reopen" not in _offered(client, reopened)


def test_only_who_may_update_the_deal_may_reopen_it(client, org_a, readonly_a, opp_a):
    _lose(org_a, opp_a)
    _login(client, readonly_a)
    assert _offered(client, _stored(org_a, opp_a)) == set()
    with tenant_context(org_a):
        stage = PipelineStage.objects.get(pipeline=opp_a.pipeline, name="Negotiation")
    assert client.post(_step(opp_a, "reopen"), {"stage": stage.pk}).status_code == 403
    assert _stored(org_a, opp_a).status == OpportunityStatus.LOST


def test_a_task_is_marked_done_from_its_page(client, org_a, rep_a, readonly_a, opp_a):
    task = factories.task(org_a, title="Call back", assigned_to=rep_a, opportunity=opp_a)
    _login(client, readonly_a)
    assert _offered(client, task) == set()
    assert client.post(_step(task, "done")).status_code == 403
    _login(client, rep_a)
    assert _offered(client, task) == {"done"}
    assert client.post(_step(task, "done")).status_code == 302
    done = _stored(org_a, task)
    assert done.status == TaskStatus.DONE and done.completed_at is not None
    assert _offered(client, done) == set()


def test_a_proposal_handed_over_is_sent_to_a_lead_not_to_be_emailed(client, org_a, rep_a):
    lead = factories.qualified_lead(
        org_a, assigned_to=rep_a, consent=False, contact_email="dana@trade.example"
    )
    deal = factories.opportunity(org_a, owner=rep_a, lead=lead)
    proposal = factories.proposal(org_a, deal)
    _login(client, rep_a)
    refused = client.post(_step(proposal, "send"))
    assert refused.status_code == 200 and "has not consented" in refused.content.decode()
    assert _stored(org_a, proposal).status == ProposalStatus.DRAFT

    assert client.post(_step(proposal, "send"), {"handed_over": "on"}).status_code == 302
    assert _stored(org_a, proposal).status == ProposalStatus.SENT
    with tenant_context(org_a):
        assert not EmailMessage.objects.exists()
    assert _offered(client, _stored(org_a, proposal)) == {"accept", "reject"}
