"""What people type is shown as text, never run: hostile values on the back-office pages
that show them, in the browser (no alert fires, no element is made of them), and the lead
form's embed snippet, whose HTML is pasted into another site as it is copied."""

from __future__ import annotations

import contextlib

import pytest
from django.urls import reverse

from accounts.models import User
from leads import lead_forms
from leads.models import LeadForm
from smartweb.tenancy.context import tenant_context
from tests.live import pages

HOSTILE = "\"><img src=x onerror=alert('name')><script>alert('script')</script>"


@contextlib.contextmanager
def alerts_recorded(browser):
    """`window.alert` records its message instead of showing it, on every page opened
    meanwhile (set before the page's own scripts run)."""
    driver = browser.driver
    added = driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "window.__alerts = []; window.alert = m => window.__alerts.push(String(m));"},
    )
    try:
        yield
    finally:
        driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
        )


def injected(browser) -> dict:
    """What the page ran or made of hostile text: alerts, images of `src=x`, scripts."""
    return browser.driver.execute_script(
        "return {alerts: window.__alerts || [],"
        " images: document.querySelectorAll('img[src=x]').length,"
        " scripts: Array.from(document.scripts).filter(s => s.text.includes('alert(')).length}"
    )


NOTHING_RUN = {"alerts": [], "images": 0, "scripts": 0}


@pytest.fixture
def hostile_form(read):
    with tenant_context(pages.demo_organization()):
        form = lead_forms.lead_form_create(
            acting_user=None, data={"name": HOSTILE, "title": HOSTILE, "consent_text": HOSTILE}
        )
    yield form
    with tenant_context(pages.demo_organization()):
        LeadForm.objects.filter(pk=form.pk).delete()


def test_the_embed_snippet_escapes_the_form_name_for_the_site(browser, hostile_form):
    """The admin copies the snippet as shown: the name stays inside its attribute there,
    and the admin's page shows the snippet as text."""
    browser.login(pages.email_of("admin"))
    with alerts_recorded(browser):
        browser.open(reverse("admin:leads_leadform_change", args=[hostile_form.pk]))
        iframe = browser.texts("fieldset pre code")[0]
        assert injected(browser) == NOTHING_RUN
    escaped = (
        "&quot;&gt;&lt;img src=x onerror=alert(&#x27;name&#x27;)&gt;"
        "&lt;script&gt;alert(&#x27;script&#x27;)&lt;/script&gt;"
    )
    assert f'title="{escaped}"' in iframe, iframe
    assert iframe.startswith('<iframe src="http') and iframe.endswith("></iframe>")


def test_the_public_form_page_shows_hostile_text_as_text(browser, hostile_form):
    with alerts_recorded(browser):
        browser.open(reverse("lead-form-page", args=[hostile_form.public_key]))
        assert browser.find("h1").text == HOSTILE
        assert browser.find("label[for=id_consent]").text == HOSTILE
        assert injected(browser) == NOTHING_RUN


def test_a_name_with_a_control_character_is_refused_on_ones_own_profile(browser, read):
    """A browser's text box takes no line break, but a script (or a crafted post) can
    send any character: the page refuses what the API refuses."""
    user = User.objects.get(email=pages.email_of("rep2"))
    browser.login(user.email)
    browser.open(reverse("admin:accounts_user_change", args=[user.pk]))
    browser.driver.execute_script(
        "document.querySelector('[name=full_name]').value = arguments[0]", "Sam\x07Seller"
    )
    browser.click("input[name=_save]")
    assert "Must be one line, without control characters." in browser.errors()
    user.refresh_from_db()
    assert user.full_name == "Sam Seller"
