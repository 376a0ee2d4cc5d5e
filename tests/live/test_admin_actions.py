"""Admin actions in the browser, through their confirmation pages, on rows made for each
test: the page names what was selected, Apply changes the rows, and the list says so.
Then every action of every changelist, as each role, on a row of the demo data: it ends
on a page (a message, its confirmation page or a download), never a server error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from compliance import services as compliance_services
from compliance.choices import RequestKind, RequestStatus
from compliance.models import SubjectRequest
from crm.choices import TaskStatus
from crm.models import Task
from leads.choices import LeadStatus
from leads.models import Lead, Tag
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

LEADS = reverse("admin:leads_lead_changelist")


@pytest.fixture
def organization(read):
    return pages.demo_organization()


@pytest.fixture
def two_leads(organization):
    """Two new leads of the rep, who is in the manager's team."""
    rep = User.objects.get(email=pages.email_of("rep"))
    return [crm_factories.lead(organization, assigned_to=rep) for _ in range(2)]


def _pks(rows) -> list[str]:
    return [str(row.pk) for row in rows]


def _leads(rows) -> list[Lead]:
    with tenant_context(pages.demo_organization()):
        return list(Lead.all_objects.filter(pk__in=[r.pk for r in rows]).order_by("pk"))


def _confirmation(browser, count: int) -> None:
    assert f"{count} selected" in browser.find("#content").text


def test_assign_through_the_confirmation_page(browser, organization, two_leads):
    browser.login(pages.email_of("admin"))
    browser.open(f"{LEADS}?q=Trade+Co")
    browser.run_action("assign_selected", _pks(two_leads))
    _confirmation(browser, 2)
    manager = User.objects.get(email=pages.email_of("manager"))
    browser.choose("assigned_to", value=str(manager.pk))
    browser.click("input[type=submit]")
    assert "Assigned 2 lead(s)." in browser.messages()
    assert {lead.assigned_to_id for lead in _leads(two_leads)} == {manager.pk}


def test_tag_through_the_confirmation_page(browser, organization, two_leads):
    with tenant_context(organization):
        tag = Tag.objects.order_by("name").first()
    browser.login(pages.email_of("manager"))
    browser.open(f"{LEADS}?q=Trade+Co")
    browser.run_action("tag_selected", _pks(two_leads))
    _confirmation(browser, 2)
    assert tag.name in browser.options("tag").values()
    browser.choose("tag", value=str(tag.pk))
    browser.click("input[type=submit]")
    assert "Tagged 2 lead(s)." in browser.messages()
    with tenant_context(organization):
        assert Lead.objects.filter(pk__in=[lead.pk for lead in two_leads], tags=tag).count() == 2


def test_change_status_through_the_confirmation_page(browser, organization, two_leads):
    browser.login(pages.email_of("admin"))
    browser.open(f"{LEADS}?q=Trade+Co")
    browser.run_action("change_status_selected", _pks(two_leads))
    _confirmation(browser, 2)
    browser.choose("status", value=LeadStatus.CONTACTED)
    browser.click("input[type=submit]")
    assert "Changed 2 lead(s)." in browser.messages()
    assert {lead.status for lead in _leads(two_leads)} == {LeadStatus.CONTACTED}


def test_erase_through_the_confirmation_page(browser, organization, two_leads):
    erased, kept = two_leads
    browser.login(pages.email_of("admin"))
    browser.open(f"{LEADS}?q=Trade+Co")
    browser.run_action("erase_subject_data", [str(erased.pk)])
    _confirmation(browser, 1)
    browser.click("input[type=submit]")
    assert "Erased 1 person(s)." in browser.messages()
    stored = {lead.pk: lead for lead in _leads(two_leads)}
    assert stored[erased.pk].contact_name != erased.contact_name
    assert stored[kept.pk].contact_name == kept.contact_name


def test_fulfil_an_erasure_request_through_the_confirmation_page(browser, organization):
    lead = crm_factories.lead(organization)
    with tenant_context(organization):
        request = SubjectRequest.objects.create(
            organization=organization, kind=RequestKind.ERASURE, lead=lead
        )
    browser.login(pages.email_of("admin"))
    browser.open(reverse("admin:compliance_subjectrequest_changelist"))
    browser.run_action("fulfil_erasure", [str(request.pk)])
    _confirmation(browser, 1)
    browser.click("input[type=submit]")
    assert "Erased 1 person(s)." in browser.messages()
    with tenant_context(organization):
        assert SubjectRequest.objects.get(pk=request.pk).status == RequestStatus.COMPLETED


def test_an_erasure_request_rejected_meanwhile_stops_the_erasure_of_all(browser, organization):
    """Between the confirmation page and Apply, a colleague rejects one of the two
    requests: neither person is erased, and the list says which request stood in the way."""
    leads = [crm_factories.lead(organization) for _ in range(2)]
    with tenant_context(organization):
        requests = [
            SubjectRequest.objects.create(
                organization=organization, kind=RequestKind.ERASURE, lead=lead
            )
            for lead in leads
        ]
    browser.login(pages.email_of("admin"))
    browser.open(reverse("admin:compliance_subjectrequest_changelist"))
    browser.run_action("fulfil_erasure", _pks(requests))
    _confirmation(browser, 2)
    with tenant_context(organization):
        compliance_services.subject_request_reject(
            subject_request=requests[1], acting_user=None, reason="Not our data."
        )
        refused = str(Lead.objects.select_related("company").get(pk=leads[1].pk))
    browser.click("input[type=submit]")
    assert browser.messages() == [
        f"Nothing was erased. “{refused}”: That request is already closed."
    ]
    assert {lead.pk: lead.contact_name for lead in _leads(leads)} == {
        lead.pk: lead.contact_name for lead in leads
    }
    with tenant_context(organization):
        assert SubjectRequest.objects.get(pk=requests[0].pk).status == RequestStatus.OPEN


def test_restore_a_deleted_lead(browser, organization, two_leads):
    deleted = two_leads[0]
    browser.login(pages.email_of("admin"))
    browser.open(reverse("admin:leads_lead_delete", args=[deleted.pk]))
    browser.click("input[type=submit]")
    assert _leads([deleted])[0].deleted_at is not None
    browser.open(f"{LEADS}?state=deleted")
    browser.run_action("restore_selected", [str(deleted.pk)])
    assert "Restored 1 row(s)." in browser.messages()
    assert _leads([deleted])[0].deleted_at is None


def test_a_rep_marks_their_task_done(browser, organization):
    rep = User.objects.get(email=pages.email_of("rep"))
    task = crm_factories.task(organization, assigned_to=rep)
    browser.login(pages.email_of("rep"))
    browser.open(reverse("admin:crm_task_changelist"))
    browser.run_action("mark_done", [str(task.pk)])
    assert "Done: 1." in browser.messages()
    with tenant_context(organization):
        assert Task.objects.get(pk=task.pk).status == TaskStatus.DONE


ADMINS = {a.model._meta.label: a for a in pages.registered_admins()}


@pytest.mark.parametrize("role", pages.ROLES)
@pytest.mark.parametrize("label", sorted(ADMINS))
def test_every_action_ends_on_a_page(browser, read, role, label):
    opts = ADMINS[label].model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    browser.login(pages.email_of(role))
    if browser.status(changelist) != 200:
        pytest.skip(f"the {role} has no {label} list")
    browser.open(changelist)
    rows = browser.values("input.action-select")
    offered = browser.options("action") if browser.exists("select[name='action']") else {}
    actions = [v for v in offered if v != "delete_selected"]
    if not rows or not actions:
        pytest.skip(f"no row or no action for the {role} on {label}")
    row = rows[0]
    for action in actions:
        response = browser.post_action(changelist, action, [row])
        assert response.status_code < 500, f"{action} answered {response.status_code}"
        assert response.status_code in (200, 302), f"{action} answered {response.status_code}"
