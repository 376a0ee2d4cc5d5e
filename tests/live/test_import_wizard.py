"""The lead import wizard in the browser, with a file whose headers have spaces: pick
each column's field, see the allowed values and the first rows, fail on a bad row
(the file is kept and the errors download as CSV), then import the good rows. And the
list pages keep each row on one line at 1,400 px."""

from __future__ import annotations

import csv
import io
import random

import pytest
from django.urls import reverse

from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests.live import pages

UPLOAD = reverse("admin:leads_lead_import")


@pytest.fixture
def csv_file(tmp_path):
    """Two good rows and one with a bad phone, under headers with spaces."""
    number = random.randrange(10_000)  # noqa: S311  (a name, not a secret)
    path = tmp_path / "my leads.csv"
    path.write_text(
        "Business Name,Phone Number,Lead Status,Lead Source,Contact Person\n"
        f"Wizard Roofing {number},01632 97{number:04d},Qualified,GOOGLE_MAPS,Sam Slate\n"
        f"Wizard Sparks {number},01632 98{number:04d},CONTACTED,Google Maps,Vic Volt\n"
        f"Wizard Broken {number},call me,new,referral,Nobody\n"
    )
    return path, number


def _imported(number: int) -> dict[str, Lead]:
    with tenant_context(pages.demo_organization()):
        leads = Lead.objects.filter(
            company__name__startswith="Wizard ", company__name__endswith=f" {number}"
        )
        return {lead.company.name: lead for lead in leads.select_related("company")}


def test_the_wizard_maps_previews_keeps_the_file_and_imports(browser, read, csv_file):
    path, number = csv_file
    browser.login(pages.email_of("manager"))
    browser.open(reverse("admin:leads_lead_changelist"))
    browser.click(f"a[href='{UPLOAD}']")

    # 1. Upload.
    browser.find("input[name='file']").send_keys(str(path))
    browser.click("input[type=submit]")

    # 2. Columns: the headers as they are written, the first rows, a dropdown each.
    headers = browser.read(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent.trim())",
        "#import-preview thead th",
    )
    assert headers == [
        "Business Name",
        "Phone Number",
        "Lead Status",
        "Lead Source",
        "Contact Person",
    ]
    assert f"Wizard Roofing {number}" in browser.texts("#import-preview tbody td")
    assert browser.selected("column_0") == ["company_name"]
    assert browser.selected("column_4") == ["contact_name"]
    browser.choose("column_1", value="phone")
    browser.choose("column_2", value="status")
    browser.choose("column_3", value="source")
    hints = browser.texts("#import-preview .allowed-values")
    assert "qualified" in hints[2] and "google_maps (Google Maps)" in hints[3]
    token_page = browser.path

    # 3. Import: refused for the bad row, the file kept, the errors downloadable.
    browser.click("#import-map input[type=submit]")
    assert any("Nothing imported" in m for m in browser.messages())
    assert browser.path == token_page
    assert "Phone Number" in browser.texts("#import-errors td")
    assert _imported(number) == {}
    errors_url = browser.find("#import-errors-csv").get_attribute("href")
    download = browser.session().get(errors_url, timeout=60)
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0][:2] == ["import_row", "import_problems"]
    assert rows[1][0] == "4" and rows[1][1].startswith("error: Phone Number: ")

    # The mapping is still chosen: import the good rows only.
    assert browser.selected("column_2") == ["status"]
    browser.find("input[name='skip_bad_rows']").click()
    browser.click("#import-map input[type=submit]")
    assert "Imported 2 lead(s)." in browser.messages()
    assert "2 lead(s) created" in browser.find("#import-summary").text
    leads = _imported(number)
    assert {name: (lead.status, lead.source) for name, lead in leads.items()} == {
        f"Wizard Roofing {number}": ("qualified", "google_maps"),
        f"Wizard Sparks {number}": ("contacted", "google_maps"),
    }

    # Nobody else opens this import: another organization (404), a viewer (403).
    browser.login(pages.email_of("admin", "northwind"))
    assert browser.status(token_page) == 404
    browser.login(pages.email_of("viewer"))
    assert browser.status(token_page) == 403


LISTS = ["lead", "company", "interaction", "opportunity", "task", "proposal", "contract"]
# A row of one line is about 33 px high in the admin's style; two lines are about 50.
ONE_LINE = 42


@pytest.mark.parametrize("model", LISTS)
def test_list_pages_keep_rows_on_one_line_at_1400_px(browser, model):
    app = "leads" if model in ("lead", "company", "interaction") else "crm"
    browser.login(pages.email_of("admin"))
    browser.open(reverse(f"admin:{app}_{model}_changelist"))
    heights = browser.read(
        "return Array.from(document.querySelectorAll(arguments[0]),"
        " r => r.getBoundingClientRect().height)",
        "#result_list tbody tr",
    )
    assert heights, "the demo has rows to list"
    assert max(heights) <= ONE_LINE, heights


def _count_text(browser, not_equal: str = "") -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser.driver, 30).until(
        lambda d: (text := browser.find("#lead-filter-count").text) not in ("", not_equal) and text
    )


def test_the_campaign_lead_filter_counts_matching_leads_as_it_changes(browser, read):
    """The manager sees their team's leads: the count is of those (fewer than the
    organization's), and says the campaign calls the organization's."""
    from crm.services import leads_matching

    with tenant_context(pages.demo_organization()):
        all_default = leads_matching({}).count()
        qualified = leads_matching({"statuses": ["qualified"]}).count()
    says = " of the leads you may see match now; the campaign calls every matching lead of the"
    browser.login(pages.email_of("manager"))
    browser.open(reverse("admin:crm_campaign_add"))
    first = _count_text(browser)
    seen = int(first.split(" ", 1)[0])
    assert first == f"{seen}{says} organization." and 0 < seen < all_default
    browser.find("input[name='lead_filter-statuses'][value='qualified']").click()
    second = _count_text(browser, first)
    seen_qualified = int(second.split(" ", 1)[0])
    assert second == f"{seen_qualified}{says} organization."
    assert 0 < seen_qualified <= qualified and seen_qualified < seen
