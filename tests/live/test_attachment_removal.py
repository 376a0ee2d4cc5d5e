"""A file's Remove clicked twice in the browser (a double click; the first post answered
while the page was still shown): the second goes back to the record's files saying the
file was already removed, not to a 404 page."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import User
from attachments.models import Attachment
from smartweb.tenancy.context import tenant_context
from tests.attachments import factories as attachments
from tests.leads.factories import make_lead
from tests.live import pages


def test_a_second_click_on_remove_says_the_file_was_already_removed(browser, read):
    organization = pages.demo_organization()
    rep = User.objects.get(email=pages.email_of("rep"))
    lead = make_lead(organization, assigned_to=rep, contact_name="Dora Double")
    row = attachments.attach(organization, lead, "double click.pdf")
    page = reverse("admin:leads_lead_change", args=[lead.pk])
    browser.login(pages.email_of("rep"))
    browser.open(page)
    remove = "#attachments input[aria-label='Remove double click.pdf']"
    assert browser.exists(remove)

    # The first click's post, with the page's cookies.
    session = browser.session()
    first = session.post(
        browser.base_url + reverse("admin:leads_lead_detach", args=[lead.pk, row.pk]),
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": browser.base_url + page},
        allow_redirects=False,
        timeout=60,
    )
    assert first.status_code == 302
    browser.click(remove)

    assert browser.path == f"{page}#attachments"
    assert "“double click.pdf” was already removed." in browser.messages(), browser.messages()
    assert not browser.exists(remove)
    with tenant_context(organization):
        assert Attachment.all_objects.get(pk=row.pk).deleted_at is not None
