"""Sharing in the browser, on the demo data: the rep shares a lead and a deal of theirs
with the rep of another team from the record's page, who then opens and edits it; the rep
stops sharing and the colleague is shut out again. The page with its shares is saved
unchanged. The read-only user is offered no sharing and refused the share page. A
colleague who edits a record through a share sees its owner but is not offered to change
it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User
from sharing.services import record_share
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.leads.factories import make_lead
from tests.live import pages


def _record(kind: str, owner: User):
    """A new lead or deal of `owner`, so no other test's sharing meets it."""
    organization = pages.demo_organization()
    if kind == "lead":
        return make_lead(organization, contact_name="Shared Sam", assigned_to=owner)
    return crm_factories.opportunity(organization, owner=owner, name="Shared deal")


def _url(record, view: str, *args) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[record.pk, *args])


def _page(record) -> str:
    return _url(record, "change")


@pytest.mark.parametrize("kind", ["lead", "deal"])
def test_a_rep_shares_a_record_with_a_colleague_and_takes_it_back(browser, read, kind):
    rep = User.objects.get(email=pages.email_of("rep"))
    colleague = User.objects.get(email=pages.email_of("rep2"))
    record = _record(kind, rep)
    page = _page(record)
    browser.login(colleague.email)
    assert browser.status(page) == 404

    browser.login(rep.email)
    browser.open(page)
    assert "Not shared" in browser.find("#shares").text
    browser.click("#shares a.share-record")
    assert rep.email not in " ".join(browser.options("user").values())
    assert set(browser.options("access")) == {"read", "update"}
    browser.choose("user", value=str(colleague.pk))
    browser.choose("access", value="update")
    browser.click("input[name='_step']")

    assert browser.errors() == [], browser.errors()
    assert "Shared." in browser.messages()
    assert browser.path == page
    (shared_with,) = browser.texts("#shares tbody tr")
    assert colleague.full_name in shared_with and "Can view and edit" in shared_with
    assert colleague.email not in shared_with  # named, as the lists name people
    pages.save_unchanged(browser, admin.site.get_model_admin(type(record)), record.pk)

    browser.login(colleague.email)
    browser.open(page)
    assert browser.exists("input[name='_continue']"), "shared for editing"
    assert not browser.exists("#shares"), "a share is not passed along"

    browser.login(rep.email)
    browser.open(page)
    browser.click("#shares input[type='submit']")
    assert "No longer shared." in browser.messages()
    assert "Not shared" in browser.find("#shares").text
    browser.login(colleague.email)
    assert browser.status(page) == 404


def test_the_read_only_user_is_offered_no_sharing(browser, read):
    record = _record("lead", User.objects.get(email=pages.email_of("rep")))
    browser.login(pages.email_of("viewer"))
    browser.open(_page(record))
    assert not browser.exists("#shares")
    assert browser.status(_url(record, "step", "share")) == 403


@pytest.mark.parametrize(("kind", "owner_field"), [("lead", "assigned_to"), ("deal", "owner")])
def test_a_colleague_editing_through_a_share_is_not_offered_its_owner(
    browser, read, kind, owner_field
):
    """The owner is changed by those whose role reaches the record (ADR 0041): the page
    shows it, and a hand-made choice of the colleague themselves is not saved."""
    rep = User.objects.get(email=pages.email_of("rep"))
    colleague = User.objects.get(email=pages.email_of("rep2"))
    record = _record(kind, rep)
    with tenant_context(pages.demo_organization()):
        record_share(record=record, user=colleague, access_level="update", acting_user=None)

    browser.login(colleague.email)
    browser.open(_page(record))
    assert not browser.exists(f"select[name='{owner_field}']")
    assert browser.find(f".field-{owner_field} .readonly").text == rep.full_name  # by name
    browser.driver.execute_script(
        "const field = document.createElement('input');"
        " field.type = 'hidden'; field.name = arguments[0]; field.value = arguments[1];"
        " document.querySelector('#content-main form').appendChild(field);",
        owner_field,
        str(colleague.pk),
    )
    browser.save()
    assert browser.errors() == [], browser.errors()
    with tenant_context(pages.demo_organization()):
        record.refresh_from_db()
    assert getattr(record, f"{owner_field}_id") == rep.pk
