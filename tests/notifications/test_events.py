"""Each event that matters to a person tells that person once, in the transaction of the
change: a lead assigned to them, an AI call asking for a follow-up, their proposal
accepted, a mention in a note. Nobody is told of their own act, and a refused change
tells nobody."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from crm import services as crm_services
from crm.models import Task
from leads import services as lead_services
from notifications.choices import NotificationKind
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import acting_as
from tests.leads.factories import make_lead
from tests.notifications.conftest import kinds, told

pytestmark = pytest.mark.django_db


def _lead_of(org, **fields):
    return make_lead(org, company={"name": "Drip Drop Plumbing"}, contact_name="Pat", **fields)


# --- a lead assigned to me ---------------------------------------------------------


def test_a_lead_assigned_by_a_colleague_tells_the_assignee_once(org_a, admin_a, rep_a):
    lead = _lead_of(org_a)
    with acting_as(admin_a, org_a):
        lead_services.lead_update(lead=lead, acting_user=admin_a, data={"assigned_to": rep_a})
        # Saved again unchanged: no news.
        lead_services.lead_update(lead=lead, acting_user=admin_a, data={"assigned_to": rep_a})
    (notification,) = told(org_a, rep_a)
    assert notification.kind == NotificationKind.LEAD_ASSIGNED
    assert (notification.target_type, notification.target_id) == ("leads.lead", lead.pk)
    assert notification.actor == admin_a and "Drip Drop Plumbing" in notification.message
    assert notification.read_at is None
    assert told(org_a, admin_a) == []


def test_a_new_lead_of_someone_else_tells_them_but_my_own_tells_nobody(org_a, admin_a, rep_a):
    with acting_as(admin_a, org_a):
        lead_services.lead_create(
            acting_user=admin_a,
            data={"assigned_to": rep_a},
            company_data={"name": "Sparky Electrics"},
        )
    with acting_as(rep_a, org_a):
        lead_services.lead_create(acting_user=rep_a, data={}, company_data={"name": "Mine Ltd"})
    expected = f"{admin_a.get_full_name()} assigned you a lead: Sparky Electrics"
    assert [(n.recipient, n.message) for n in told(org_a)] == [(rep_a, expected)]


def test_a_lead_made_by_the_system_tells_its_assignee(org_a, rep_a):
    _lead_of(org_a, assigned_to=rep_a)  # a web form's round robin, an import: no actor
    (notification,) = told(org_a, rep_a)
    assert notification.actor is None and notification.message.startswith("A lead was assigned")


def test_bulk_assignment_tells_the_assignee_of_each_lead_that_changed(org_a, admin_a, rep_a):
    leads = [_lead_of(org_a) for _ in range(3)]
    with acting_as(admin_a, org_a):
        lead_services.leads_assign(leads=leads[:2], assignee=rep_a, acting_user=admin_a)
        lead_services.leads_assign(leads=leads, assignee=rep_a, acting_user=admin_a)
    assert sorted(n.target_id for n in told(org_a, rep_a)) == sorted(lead.pk for lead in leads)


def test_a_refused_assignment_tells_nobody(org_a, rep_a, rep_a2):
    lead = _lead_of(org_a, assigned_to=rep_a)
    before = len(told(org_a))
    with acting_as(rep_a, org_a), pytest.raises(ValidationError):
        # A rep may not hand a lead to another rep.
        lead_services.lead_update(lead=lead, acting_user=rep_a, data={"assigned_to": rep_a2})
    assert len(told(org_a)) == before and told(org_a, rep_a2) == []


# --- an AI call asking for a follow-up ------------------------------------------------


def test_an_ai_call_asking_for_a_call_back_tells_the_leads_rep_once(org_a, rep_a):
    lead = factories.lead(org_a, assigned_to=rep_a)
    call = factories.ai_call(org_a, for_lead=lead)
    secret = factories.webhook_secret(org_a)
    callback = (timezone.now() + dt.timedelta(days=2)).isoformat()
    payload = {
        "call_id": call.provider_call_id,
        "status": "completed",
        "started_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
        "outcome": "callback",
        "summary": "Call back on Thursday.",
        "callback_at": callback,
        "duration_seconds": 60,
    }
    for _ in range(2):  # the provider retries its delivery
        answer = factories.deliver(Client(), org_a, secret, payload)
        assert answer.status_code == 200, answer.content
    (notification,) = told(org_a, kind=NotificationKind.AI_CALL_FOLLOW_UP)
    assert notification.recipient == rep_a and notification.target_type == "crm.task"
    with tenant_context(org_a):
        follow_up = Task.objects.get(pk=notification.target_id)
    assert follow_up.ai_call_id == call.pk and follow_up.title in notification.message


def test_an_ai_call_without_a_follow_up_tells_nobody(org_a, rep_a):
    lead = factories.lead(org_a, assigned_to=rep_a)
    call = factories.ai_call(org_a, for_lead=lead)
    secret = factories.webhook_secret(org_a)
    payload = {"call_id": call.provider_call_id, "status": "completed", "outcome": "voicemail"}
    assert factories.deliver(Client(), org_a, secret, payload).status_code == 200
    # Told of the lead when it was assigned to them, and of nothing since.
    assert kinds(org_a, rep_a) == [NotificationKind.LEAD_ASSIGNED]


# --- a proposal accepted ---------------------------------------------------------------


def test_an_accepted_proposal_tells_the_deals_owner_not_the_one_who_marked_it(
    org_a, admin_a, rep_a, opp_a, midday
):
    # Valid until today, and still today when sent and accepted: the clock is pinned.
    proposal = factories.proposal(org_a, opp_a, valid_until=midday.date())
    with acting_as(admin_a, org_a):
        crm_services.proposal_send(proposal=proposal, acting_user=admin_a)
        crm_services.proposal_accept(proposal=proposal, acting_user=admin_a)
    (notification,) = told(org_a, kind=NotificationKind.PROPOSAL_ACCEPTED)
    assert notification.recipient == rep_a and notification.actor == admin_a
    assert (notification.target_type, notification.target_id) == ("crm.proposal", proposal.pk)
    assert proposal.number in notification.message


def test_the_owner_accepting_their_own_proposal_is_not_told(org_a, rep_a, opp_a):
    proposal = factories.proposal(org_a, opp_a)
    with acting_as(rep_a, org_a):
        crm_services.proposal_send(proposal=proposal, acting_user=rep_a)
        crm_services.proposal_accept(proposal=proposal, acting_user=rep_a)
    assert told(org_a, kind=NotificationKind.PROPOSAL_ACCEPTED) == []


# --- a mention in a note ----------------------------------------------------------------


def _note(org, user, lead, content):
    with acting_as(user, org):
        return lead_services.interaction_log(
            lead=lead, acting_user=user, data={"type": "note", "content": content}
        )


def test_a_mention_by_email_or_full_name_tells_the_member_once(org_a, admin_a, rep_a, manager_a):
    lead = _lead_of(org_a, assigned_to=rep_a)
    text = (
        f"@{rep_a.email.upper()} please call. Also @{manager_a.full_name}, FYI. "
        "Not @nobody@example.test, not @Pat."
    )
    note = _note(org_a, admin_a, lead, text)
    mentions = told(org_a, kind=NotificationKind.MENTION)
    assert {n.recipient for n in mentions} == {rep_a, manager_a}
    assert all(n.target_id == note.pk and n.actor == admin_a for n in mentions)
    assert all(admin_a.full_name in n.message for n in mentions)


def test_an_edit_tells_only_the_members_it_adds(org_a, admin_a, rep_a, manager_a):
    lead = _lead_of(org_a, assigned_to=rep_a)
    note = _note(org_a, admin_a, lead, f"@{rep_a.email} see this")
    with acting_as(admin_a, org_a):
        lead_services.interaction_update(
            interaction=note,
            acting_user=admin_a,
            data={"content": f"@{rep_a.email} and @{manager_a.email} see this"},
        )
    mentions = told(org_a, kind=NotificationKind.MENTION)
    assert sorted(n.recipient.email for n in mentions) == sorted([rep_a.email, manager_a.email])


def test_a_mention_does_not_open_a_lead_the_member_may_not_read(org_a, admin_a, rep_a, rep_a2):
    lead = _lead_of(org_a, assigned_to=rep_a)
    _note(org_a, admin_a, lead, f"@{rep_a2.email} could you take over?")
    assert told(org_a, rep_a2) == []


def test_a_mention_of_myself_or_of_someone_outside_the_organization_tells_nobody(
    org_a, admin_a, rep_a, admin_b
):
    lead = _lead_of(org_a, assigned_to=rep_a)
    _note(org_a, rep_a, lead, f"Note to self @{rep_a.email}; ask @{admin_b.email}")
    assert told(org_a, kind=NotificationKind.MENTION) == []


def test_an_address_inside_a_longer_one_is_not_a_mention(org_a, admin_a, rep_a):
    lead = _lead_of(org_a, assigned_to=rep_a)
    local, _, domain = rep_a.email.partition("@")
    _note(org_a, admin_a, lead, f"x@{rep_a.email} @{rep_a.email}.uk @{local}x@{domain}")
    assert told(org_a, kind=NotificationKind.MENTION) == []
