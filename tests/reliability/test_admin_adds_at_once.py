"""The admin's add forms against four web workers, sent at the same moment: by several
people adding the same name (one row, the others told it exists, never a server error)."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Organization, Role, Team
from crm.models import Campaign, Pipeline
from leads.models import Tag
from mailing.models import EmailTemplate
from smartweb.tenancy.context import tenant_context
from tests.reliability.clients import StaffBrowser, at_once

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
def demo_org(django_db_blocker, live_url):
    with django_db_blocker.unblock():
        return Organization.objects.get(slug="demo")


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
