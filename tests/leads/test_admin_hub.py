"""The lead page as the hub: only the steps allowed now are offered, each runs through the
services (refusals shown with the input kept), 403 without the permission, 404 for a lead
out of reach; one timeline, newest first, read in a constant number of queries."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance import services as compliance_services
from compliance.choices import RequestStatus
from compliance.models import SubjectRequest
from crm.models import Task
from leads import services
from leads.choices import LeadStatus
from leads.models import Interaction, Lead
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.leads.factories import InteractionFactory

pytestmark = pytest.mark.django_db

REP_STEPS = {
    "qualify",
    "disqualify",
    "status",
    "log-call",
    "log-email",
    "log-meeting",
    "log-note",
    "task",
}


def _login(client, user):
    client.force_login(user)
    return client


def _page(client, lead) -> str:
    response = client.get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _offered(body: str) -> set[str]:
    return set(re.findall(r'data-step="([\w-]+)"', body))


def _step(lead, name: str) -> str:
    return reverse("admin:leads_lead_step", args=[lead.pk, name])


def _stored(org, lead) -> Lead:
    with tenant_context(org):
        return Lead.all_objects.get(pk=lead.pk)


def test_a_rep_is_offered_the_steps_of_a_new_lead_and_no_more(client, rep_a, lead_a):
    assert _offered(_page(_login(client, rep_a), lead_a)) == REP_STEPS


def test_the_admin_may_also_erase_and_a_qualified_lead_offers_conversion(
    client, org_a, admin_a, lead_a
):
    _login(client, admin_a)
    assert _offered(_page(client, lead_a)) == REP_STEPS | {"erase"}
    with tenant_context(org_a):
        services.lead_change_status(
            lead=lead_a, status=LeadStatus.QUALIFIED, acting_user=None, reason="keen"
        )
    body = _page(client, lead_a)
    offered = _offered(body)
    assert {"convert", "disqualify", "status"} <= offered
    assert "qualify" not in offered and "proposal" not in offered
    convert = f"{reverse('admin:crm_opportunity_convert')}?lead={lead_a.pk}"
    assert convert in body
    form = client.get(convert).content.decode()
    assert f'<option value="{lead_a.pk}" selected>' in form


def test_qualifying_from_the_button_goes_through_the_service(client, org_a, rep_a, lead_a):
    _login(client, rep_a)
    response = client.post(_step(lead_a, "qualify"), {"reason": "Wants a website this month"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:leads_lead_change", args=[lead_a.pk])
    assert _stored(org_a, lead_a).status == LeadStatus.QUALIFIED
    body = _page(client, lead_a)
    assert "Status: New → Qualified" in body and "Wants a website this month" in body
    assert "convert" in _offered(body)


def test_qualifying_below_the_threshold_asks_for_the_reason(client, org_a, rep_a, lead_a):
    org_a.settings = {**org_a.settings, "qualification_threshold": 100}
    org_a.save(update_fields=["settings"])
    _login(client, rep_a)
    form = client.get(_step(lead_a, "qualify")).content.decode()
    assert "below the qualification threshold of 100" in form
    response = client.post(_step(lead_a, "qualify"), {"reason": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert _stored(org_a, lead_a).status == LeadStatus.NEW


def test_a_step_the_state_no_longer_allows_is_refused_with_its_reason(client, org_a, rep_a, lead_a):
    _login(client, rep_a)
    with tenant_context(org_a):
        services.lead_change_status(lead=lead_a, status=LeadStatus.LOST, acting_user=None)
    response = client.post(_step(lead_a, "qualify"), {"reason": "changed my mind"}, follow=True)
    assert "is not possible now" in response.content.decode()
    assert _stored(org_a, lead_a).status == LeadStatus.LOST
    # The status form offers only what the graph allows from here.
    form = client.get(_step(lead_a, "status")).content.decode()
    assert re.findall(r'<option value="(\w+)"', form) == [LeadStatus.NURTURING]
    refused = client.post(_step(lead_a, "status"), {"status": LeadStatus.CONTACTED, "reason": "x"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()


def test_logging_a_call_and_creating_a_task_show_on_the_timeline(client, org_a, rep_a, lead_a):
    _login(client, rep_a)
    response = client.post(
        _step(lead_a, "log-call"),
        {
            "subject": "Discovery call",
            "content": "Needs online booking for boiler repairs.",
            "direction": "outbound",
            "outcome": "interested",
        },
    )
    assert response.status_code == 302
    response = client.post(
        _step(lead_a, "task"),
        {"title": "Send the mock-up", "type": "email", "priority": "high", "due_at": ""},
    )
    assert response.status_code == 302
    with tenant_context(org_a):
        call = Interaction.objects.get(lead=lead_a, subject="Discovery call")
        task = Task.objects.get(lead=lead_a)
    assert call.type == "call" and call.created_by == rep_a and call.outcome == "interested"
    assert task.title == "Send the mock-up" and task.assigned_to == rep_a
    body = _page(client, lead_a)
    assert "Needs online booking for boiler repairs." in body
    assert (
        body.index("Send the mock-up") < body.index("Discovery call") < body.index("Lead created")
    ), "the timeline is newest first"


def test_a_rep_may_not_give_a_task_to_someone_else_and_keeps_their_input(
    client, org_a, rep_a, rep_a2, lead_a
):
    _login(client, rep_a)
    response = client.post(
        _step(lead_a, "task"),
        {
            "title": "Call back Friday",
            "type": "call",
            "priority": "normal",
            "assigned_to": rep_a2.pk,
        },
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Select a valid choice" in body
    assert 'value="Call back Friday"' in body
    with tenant_context(org_a):
        assert not Task.objects.filter(lead=lead_a).exists()


def test_without_the_permission_a_step_is_403(client, readonly_a, lead_a):
    _login(client, readonly_a)
    assert _offered(_page(client, lead_a)) == set()
    for name in ("qualify", "log-call", "task", "erase"):
        assert client.get(_step(lead_a, name)).status_code == 403, name
        assert client.post(_step(lead_a, name), {"reason": "x"}).status_code == 403, name


def test_a_rep_may_not_erase(client, rep_a, lead_a):
    _login(client, rep_a)
    assert client.get(_step(lead_a, "erase")).status_code == 403


def test_another_organizations_or_another_reps_lead_is_404(client, admin_b, rep_a2, lead_a):
    for user in (admin_b, rep_a2):
        _login(client, user)
        for name in ("qualify", "log-note", "task", "erase", "no-such-step"):
            assert client.get(_step(lead_a, name)).status_code == 404, (user, name)
            assert client.post(_step(lead_a, name), {"reason": "x"}).status_code == 404


def test_erasure_from_the_lead_page_confirms_and_closes_the_open_request(
    client, org_a, admin_a, lead_a
):
    with tenant_context(org_a):
        pending = compliance_services.subject_request_open(
            kind="erasure", lead=lead_a, acting_user=None
        )
    _login(client, admin_a)
    confirm = client.get(_step(lead_a, "erase")).content.decode()
    assert "This cannot be undone" in confirm and "Dana Drip" in confirm
    assert client.post(_step(lead_a, "erase"), {}).status_code == 302
    with tenant_context(org_a):
        pending.refresh_from_db()
        assert SubjectRequest.objects.filter(lead=lead_a).count() == 1
    assert pending.status == RequestStatus.COMPLETED
    assert _stored(org_a, lead_a).contact_name == ""
    assert "erase" not in _offered(_page(client, lead_a))


def test_an_open_opportunity_offers_a_proposal_for_it(client, org_a, rep_a):
    opportunity = crm_factories.opportunity(org_a, owner=rep_a)
    _login(client, rep_a)
    body = _page(client, opportunity.lead)
    assert "proposal" in _offered(body) and "convert" not in _offered(body)
    add = f"{reverse('admin:crm_proposal_add')}?opportunity={opportunity.pk}"
    assert add in body
    assert f"Opportunity: {opportunity.name}" in body
    form = client.get(add).content.decode()
    assert f'<option value="{opportunity.pk}" selected>' in form


def _timeline_queries(client, lead) -> int:
    with CaptureQueriesContext(connection) as queries:
        _page(client, lead)
    return len(queries)


def test_the_timeline_reads_a_constant_number_of_queries(client, org_a, admin_a, rep_a, lead_a):
    with tenant_context(org_a):
        services.lead_change_status(lead=lead_a, status=LeadStatus.CONTACTED, acting_user=None)
        services.lead_change_status(
            lead=lead_a, status=LeadStatus.QUALIFIED, acting_user=None, reason="ok"
        )
    opportunity = crm_factories.opportunity(org_a, owner=rep_a, lead=_stored(org_a, lead_a))
    InteractionFactory(organization=org_a, lead=lead_a)
    _login(client, admin_a)
    _page(client, lead_a)  # the session's first page reads more (the user's login)
    small = _timeline_queries(client, lead_a)
    for n in range(15):
        InteractionFactory(organization=org_a, lead=lead_a, subject=f"Touch {n}")
        crm_factories.task(org_a, lead=lead_a, title=f"Task {n}", assigned_to=rep_a)
    for _ in range(3):
        crm_factories.proposal(org_a, opportunity)
    body = _page(client, lead_a)
    assert body.count('class="timeline-entry') >= 15 + 15 + 3 + 4
    assert _timeline_queries(client, lead_a) == small


def test_the_page_reads_the_leads_scope_for_its_steps_once(client, admin_a, lead_a):
    """Every logging step (a call, an email, a meeting, a note) and the email step share
    one rule, creating interactions within the lead's scope: asked once per page."""
    _login(client, admin_a)
    with CaptureQueriesContext(connection) as captured:
        offered = _offered(_page(client, lead_a))
    assert {"log-call", "log-email", "log-meeting", "log-note"} <= offered
    in_scope = [
        q["sql"]
        for q in captured
        if q["sql"].startswith('SELECT 1 AS "a" FROM "leads_lead"')
        and str(lead_a.pk.hex) in q["sql"]
    ]
    assert len(in_scope) == 1, in_scope
