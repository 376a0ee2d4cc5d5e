"""A row's History page: its columns named for people, the browser that made a change
cut short (all of it in the cell's title) so the changes stay in view, and an intro that
says what an entry opens: a version to read, or one to revert to where that is offered.
A change from or to nothing shows the admin's empty mark, never "None" nor a deleted row."""

from __future__ import annotations

import contextlib
import re
from html import unescape

import pytest
from django.urls import reverse

from accounts import services as accounts_services
from accounts.models import Membership
from crm import services as crm_services
from crm.choices import TaskPriority, TaskStatus
from crm.models import Pipeline
from leads.models import Lead
from smartweb import origin
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import admin_client
from tests.crm import factories as crm_factories
from tests.factories import acting_as
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def _headers(page: str) -> list[str]:
    table = page[page.index('id="change-history"') :]
    return [unescape(text).strip() for text in re.findall(r"<th[^>]*>(.*?)</th>", table)]


def test_the_columns_are_labelled_and_the_browser_cut_short(org_a, admin_a):
    lead = make_lead(org_a, contact_name="Dana Drip")
    with tenant_context(org_a):
        Lead.history.filter(id=lead.pk).update(history_user_agent=BROWSER)
    page = admin_client(admin_a).get(reverse("admin:leads_lead_history", args=[lead.pk]))
    body = page.content.decode()
    headers = _headers(body)
    assert {"IP address", "User agent", "Request ID"} <= set(headers)
    assert not [header for header in headers if header.startswith("history_")]
    # What matters first; where it came from after the changes, short.
    assert headers.index("Changes") < headers.index("User agent")
    assert f'<span class="history-source" title="{BROWSER}">' in body
    assert "smartweb/admin/history.css" in body


def test_the_intro_says_what_an_entry_opens(org_a, admin_a, readonly_a, rep_a):
    lead = make_lead(org_a, contact_name="Dana Drip")
    opportunity = crm_factories.opportunity(org_a, owner=rep_a)
    pages = {
        "lead": reverse("admin:leads_lead_history", args=[lead.pk]),
        "opportunity": reverse("admin:crm_opportunity_history", args=[opportunity.pk]),
    }
    read = "Each entry opens that version of the {}, to read"
    revert = "Each entry opens that version of the {}; from there it can be saved back"
    for user, kind, intro in (
        (admin_a, "lead", read),  # leads' history is not reverted around their services
        (admin_a, "opportunity", revert),
        (readonly_a, "opportunity", read),
    ):
        body = admin_client(user).get(pages[kind]).content.decode()
        assert intro.format(kind) in body, (user, kind)
        assert "Choose a date from the list below" not in body


def test_a_version_of_a_deleted_row_is_shown_to_read_not_to_revert(org_a, admin_a):
    """Saved back over a row in the trash, a version would be refused (403): its page
    offers no "Revert" (simple-history judged by the version, which was live)."""
    with tenant_context(org_a):
        pipeline = crm_services.pipeline_create(name="Old offers", acting_user=None)
        crm_services.pipeline_update(pipeline=pipeline, acting_user=None, name="Older offers")
        first = pipeline.history.earliest()
        live = Pipeline.objects.get(pk=pipeline.pk)
        crm_services.pipeline_delete(pipeline=live, acting_user=None)
    client = admin_client(admin_a)
    url = reverse("admin:crm_pipeline_simple_history", args=[pipeline.pk, first.history_id])
    body = client.get(url).content.decode()
    assert "Old offers" in body and 'value="Revert"' not in body
    assert client.post(url, {"name": "Old offers", "description": ""}).status_code == 403
    with tenant_context(org_a):
        stored = Pipeline.all_objects.get(pk=pipeline.pk)
    assert (stored.name, stored.is_deleted) == ("Older offers", True)


def test_a_change_from_nothing_shows_the_empty_mark(org_a, admin_a, rep_a2, team_a):
    with acting_as(admin_a, org_a):
        membership = Membership.objects.get(user=rep_a2)
        accounts_services.membership_update(
            membership=membership, changes={"team": team_a}, acting_user=admin_a
        )
    page = admin_client(admin_a).get(
        reverse("admin:accounts_membership_history", args=[membership.pk])
    )
    table = page.content.decode().split('id="change-history"')[1]
    newest = table.split("<tbody>")[1].split("</tr>")[0]
    cells = [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", newest, re.S)]
    reason, changes = cells[4], cells[5]
    assert (reason, changes) == ("", "Team: - → North"), cells


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _newest_cells(user, page_url: str) -> list[str]:
    page = admin_client(user).get(page_url).content.decode()
    newest = page.split('id="change-history"')[1].split("<tbody>")[1].split("</tr>")[0]
    return [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", newest, re.S)]


@pytest.mark.parametrize(
    ("made_in", "made_by"),
    [
        (None, "System"),
        (lambda: origin.job_origin(7, "crm.report_overdue_tasks"), "Job: report overdue tasks"),
        (lambda: origin.command_origin("seed_demo"), "Command: seed_demo"),
    ],
)
def test_a_change_shows_its_choices_labels_and_what_made_it(
    org_a, admin_a, rep_a, made_in, made_by
):
    task = crm_factories.task(org_a, title="Call back", assigned_to=rep_a)
    with tenant_context(org_a), made_in() if made_in else contextlib.nullcontext():
        crm_services.task_update(task=task, acting_user=None, status=TaskStatus.IN_PROGRESS)
    cells = _newest_cells(admin_a, reverse("admin:crm_task_history", args=[task.pk]))
    assert (cells[3], cells[5]) == (made_by, "Status: Open → In Progress"), cells


def test_a_change_by_a_person_names_them(org_a, admin_a, rep_a):
    task = crm_factories.task(org_a, title="Call back", assigned_to=rep_a)
    with acting_as(rep_a, org_a):
        crm_services.task_update(task=task, acting_user=rep_a, priority=TaskPriority.HIGH)
    cells = _newest_cells(admin_a, reverse("admin:crm_task_history", args=[task.pk]))
    assert rep_a.full_name and rep_a.full_name != rep_a.email
    assert (cells[3], cells[5]) == (rep_a.full_name, "Priority: Normal → High"), cells
