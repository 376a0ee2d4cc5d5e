"""The admin's forms against four web workers, sent at the same moment: by several
people adding the same name (one row, the others told it exists, never a server error),
and one form sent several times, as a double click or a browser's retry sends it (one
row or one change, each post answered as the first)."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Invitation, Role, Team
from crm.models import Campaign, Opportunity, Pipeline, Proposal, Task
from leads.models import Company, Interaction, Lead, LeadForm, Tag
from mailing.models import EmailTemplate
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.clients import CLIENTS, StaffBrowser, at_once
from webhooks.models import Endpoint

PEOPLE = 4

# What a person types into each add page that must be unique: (page, form, fields).
UNIQUE_NAMES = {
    "tag": ("/admin/leads/tag/add/", "tag_form", Tag, lambda name: {"name": name}),
    "team": ("/admin/accounts/team/add/", "team_form", Team, lambda name: {"name": name}),
    "pipeline": (
        "/admin/crm/pipeline/add/",
        "pipeline_form",
        Pipeline,
        lambda name: {"name": name},
    ),
    "role": (
        "/admin/accounts/role/add/",
        "role_form",
        Role,
        lambda name: {"name": name, "slug": name.lower().replace(" ", "-")},
    ),
    "email template": (
        "/admin/mailing/emailtemplate/add/",
        "emailtemplate_form",
        EmailTemplate,
        lambda name: {"name": name, "subject": "Hello", "body": "Hello {{ lead.contact_name }}"},
    ),
    "campaign": (
        "/admin/crm/campaign/add/",
        "campaign_form",
        Campaign,
        lambda name: {"name": name, "script": "Hello"},
    ),
}


@pytest.fixture(scope="module")
def people(live_url) -> list[StaffBrowser]:
    """The demo admin signed in on several browsers."""
    return [StaffBrowser(live_url) for _ in range(PEOPLE)]


@pytest.mark.parametrize("kind", UNIQUE_NAMES)
def test_one_name_added_by_several_people_at_once_is_one_row(
    kind, people, demo_org, live_url, read
):
    page, form_id, model, typed = UNIQUE_NAMES[kind]
    name = f"Same {uuid.uuid4().hex[:6]}"
    forms = [{**person.form(page, form_id), **typed(name)} for person in people]
    answers = at_once(lambda i: people[i].post(page, forms[i]), range(PEOPLE))
    assert all(answer.status_code in (200, 302) for answer in answers), answers
    shown = [person.shown(answer) for person, answer in zip(people, answers, strict=True)]
    # One is saved; each other is told the name exists (on its form, or as a message).
    assert sum("was added successfully" in page for page in shown) == 1
    assert sum(" exists" in page for page in shown) == PEOPLE - 1
    with tenant_context(demo_org):
        assert model.objects.filter(name=name).count() == 1


def _an_open_deal(demo_org) -> dict:
    with tenant_context(demo_org):
        return {"opportunity": str(Opportunity.objects.open().order_by("created_at").first().pk)}


def _a_role(demo_org) -> dict:
    with tenant_context(demo_org):
        return {"role": str(Role.objects.get(slug="sales_rep").pk)}


# One add form, typed once: (page, form, model, what is typed, the row it makes).
ADD_FORMS = {
    "proposal": (
        "/admin/crm/proposal/add/",
        "proposal_form",
        Proposal,
        lambda org, text: {**_an_open_deal(org), "title": text},
        lambda text: {"title": text},
    ),
    "webhook endpoint": (
        "/admin/webhooks/endpoint/add/",
        "endpoint_form",
        Endpoint,
        lambda org, text: {"url": f"https://93.184.215.14/{text}", "event_types": "lead.created"},
        lambda text: {"url": f"https://93.184.215.14/{text}"},
    ),
    "lead form": (
        "/admin/leads/leadform/add/",
        "leadform_form",
        LeadForm,
        lambda org, text: {"name": text, "consent_text": "You may contact me."},
        lambda text: {"name": text},
    ),
    "company": (
        "/admin/leads/company/add/",
        "company_form",
        Company,
        lambda org, text: {"name": text, "business_type": "plumber", "country": "GB"},
        lambda text: {"name": text},
    ),
}


@pytest.mark.parametrize("kind", ADD_FORMS)
def test_an_add_form_sent_several_times_at_once_adds_one_row(
    kind, people, demo_org, live_url, read
):
    page, form_id, model, typed, made = ADD_FORMS[kind]
    text = f"once-{uuid.uuid4().hex[:8]}"
    person = people[0]
    form = {**person.form(page, form_id), **typed(demo_org, text), "_continue": "Save"}
    answers = at_once(lambda _: person.post(page, form))
    with tenant_context(demo_org):
        rows = list(model._default_manager.filter(**made(text)))
    assert len(rows) == 1
    # Each post is answered as the first: on the page of the one row added.
    change_page = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{rows[0].pk}/change/"
    assert [(a.status_code, a.headers.get("Location")) for a in answers] == [
        (302, change_page)
    ] * CLIENTS


def test_an_invitation_sent_several_times_at_once_is_emailed_once(
    people, demo_org, mail_server, live_url, read
):
    sink, _ = mail_server
    email = f"once-{uuid.uuid4().hex[:8]}@invitee.example"
    page = "/admin/accounts/invitation/add/"
    person = people[0]
    form = {**person.form(page, "invitation_form"), **_a_role(demo_org), "email": email}
    answers = at_once(lambda _: person.post(page, form))
    assert {answer.status_code for answer in answers} == {302}
    with tenant_context(demo_org):
        assert Invitation.objects.filter(email=email).count() == 1
    sent = [message for message in sink.wait_for(1) if message["To"] == email]
    assert len(sent) == 1


def test_a_form_shown_again_with_errors_saves_when_corrected(people, demo_org, live_url, read):
    person = people[0]
    page = "/admin/leads/tag/add/"
    refused = person.post(page, person.form(page, "tag_form"))  # no name
    assert refused.status_code == 200 and "This field is required." in refused.text
    name = f"Corrected {uuid.uuid4().hex[:6]}"
    form = {**person.form_of(refused, "tag_form"), "name": name}
    assert person.post(page, form).status_code == 302
    with tenant_context(demo_org):
        assert Tag.objects.filter(name=name).count() == 1


# A step of a lead's page that adds a row: (step, what is typed, the row it makes).
LEAD_STEPS = {
    "log-note": (
        lambda text: {"subject": text, "content": "Spoke to the owner."},
        lambda lead, text: Interaction.objects.filter(lead=lead, subject=text),
    ),
    "log-call": (
        lambda text: {"subject": text, "content": "Left a message."},
        lambda lead, text: Interaction.objects.filter(lead=lead, subject=text),
    ),
    "task": (
        lambda text: {"title": text},
        lambda lead, text: Task.objects.filter(lead=lead, title=text),
    ),
}


@pytest.mark.parametrize("step", LEAD_STEPS)
def test_a_step_sent_several_times_at_once_is_taken_once(step, people, demo_org, live_url, read):
    typed, made = LEAD_STEPS[step]
    with tenant_context(demo_org):
        lead = Lead.objects.order_by("created_at").first()
    page = f"/admin/leads/lead/{lead.pk}/steps/{step}/"
    text = f"once-{uuid.uuid4().hex[:8]}"
    person = people[0]
    form = {**person.form(page), **typed(text)}
    answers = at_once(lambda _: person.post(page, form))
    assert {(a.status_code, a.headers["Location"]) for a in answers} == {
        (302, f"/admin/leads/lead/{lead.pk}/change/")
    }
    with tenant_context(demo_org):
        assert made(lead, text).count() == 1


def test_a_change_form_sent_several_times_at_once_changes_once(people, demo_org, live_url, read):
    with tenant_context(demo_org):
        task = Task.objects.order_by("created_at").first()
        versions = Task.history.filter(id=task.pk).count()
    page = f"/admin/crm/task/{task.pk}/change/"
    person = people[0]
    form = {**person.form(page, "task_form"), "description": f"once-{uuid.uuid4().hex[:8]}"}
    answers = at_once(lambda _: person.post(page, form))
    # Each post is answered as saved, none told the task changed since it was opened.
    assert {(a.status_code, a.headers["Location"]) for a in answers} == {(302, "/admin/crm/task/")}
    with tenant_context(demo_org):
        assert Task.objects.get(pk=task.pk).description == form["description"]
        assert Task.history.filter(id=task.pk).count() == versions + 1


def test_a_conversion_sent_several_times_at_once_makes_one_deal(people, demo_org, live_url, read):
    lead = factories.qualified_lead(demo_org)
    page = "/admin/crm/opportunity/convert/"
    person = people[0]
    form = {**person.form(f"{page}?lead={lead.pk}"), "lead": str(lead.pk), "name": "Once"}
    answers = at_once(lambda _: person.post(page, form))
    with tenant_context(demo_org):
        deals = list(Opportunity.objects.filter(lead=lead))
    assert len(deals) == 1
    # Each post is answered as the conversion, none refused as a lead with a deal.
    assert {(a.status_code, a.headers.get("Location")) for a in answers} == {
        (302, f"/admin/crm/opportunity/{deals[0].pk}/change/")
    }
