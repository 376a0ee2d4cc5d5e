"""Where a rep starts the day, in the browser: the admin home lists their overdue task,
highlighted, and leads to it, its due time in view however long its title; the sales
dashboard shows one total per currency, and its owner filter offers the viewer first
("Me") and only the owners whose deals they see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests.crm import factories as crm_factories
from tests.live import pages


def test_the_home_shows_the_reps_overdue_task_highlighted(browser, read):
    rep = User.objects.get(email=pages.email_of("rep"))
    task = crm_factories.task(
        pages.demo_organization(),
        title="Live overdue: call the roofer back",
        assigned_to=rep,
        # long overdue: listed first, whatever the demo data's own tasks
        due_at=timezone.now() - dt.timedelta(days=1000),
    )
    browser.login(rep.email)
    browser.open(reverse("admin:index"))
    rows = browser.texts("#my-day-tasks tr.overdue")
    assert any(row.startswith(task.title) and "Overdue" in row for row in rows), rows
    background = browser.read(
        "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor",
        "#my-day-tasks tr.overdue td",
    )
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
    browser.click(f"#my-day-tasks a[href='{reverse('admin:crm_task_change', args=[task.pk])}']")
    assert browser.path.startswith(reverse("admin:crm_task_change", args=[task.pk]))

    # The other organization's rep sees none of it.
    browser.login(pages.email_of("rep", "northwind"))
    browser.open(reverse("admin:index"))
    assert task.title not in browser.find("#content").text


def test_a_long_task_title_wraps_and_its_due_time_stays_in_view(browser, read):
    rep = User.objects.get(email=pages.email_of("rep"))
    crm_factories.task(
        pages.demo_organization(),
        title="Call the roofer back about the gallery, the booking form and the extension quote",
        assigned_to=rep,
        due_at=timezone.now() - dt.timedelta(days=999),
    )
    browser.login(rep.email)
    browser.open(reverse("admin:index"))
    # How far each due time reaches past the right edge of its list (the next list's
    # column starts there and covers it).
    beyond = browser.read(
        "const box = document.querySelector(arguments[0]).getBoundingClientRect();"
        " return Array.from(document.querySelectorAll(arguments[0] + ' td.when'),"
        " cell => cell.getBoundingClientRect().right - box.right)",
        "#my-day-tasks",
    )
    assert beyond and max(beyond) <= 0, beyond


def test_the_dashboard_shows_one_total_per_currency(browser, read):
    rep = User.objects.get(email=pages.email_of("rep"))
    close = timezone.localdate().replace(day=1) + dt.timedelta(days=2)
    for currency in ("EUR", "GBP"):
        crm_factories.opportunity(
            pages.demo_organization(),
            owner=rep,
            value=Decimal("1000.00"),
            currency=currency,
            expected_close_date=close,
            name=f"Live {currency} website",
        )
    browser.login(rep.email)
    browser.open(reverse("admin:crm_salesdashboard_changelist"))
    totals = browser.texts("#dashboard-totals .dashboard-total.open strong")
    currencies = [text.split()[0] for text in totals]
    assert "EUR" in currencies and "GBP" in currencies, totals
    assert len(currencies) == len(set(currencies)), totals  # one total per currency
    charts = browser.read(
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.dataset.currency)",
        ".monthly-chart",
    )
    assert "EUR" in charts and "GBP" in charts
    # The deals' month, not today's read again: the server's own clock cannot be pinned,
    # and its chart still shows that month after a month's end (the last six are shown).
    month = close.strftime("%b %Y")
    labels = browser.read(  # SVG text has no innerText
        "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)",
        ".monthly-chart[data-currency='GBP'] svg text.category",
    )
    assert labels.count(month) == 1, labels


@pytest.mark.parametrize("role", ["rep", "manager", "admin"])
def test_the_dashboard_owner_filter_offers_me_first_and_only_whose_deals_i_see(browser, read, role):
    me = User.objects.get(email=pages.email_of(role))
    crm_factories.opportunity(
        pages.demo_organization(),
        owner=me,
        currency="CHF",
        expected_close_date=timezone.localdate().replace(day=1) + dt.timedelta(days=2),
    )
    browser.login(me.email)
    browser.open(reverse("admin:crm_salesdashboard_changelist"))
    pages.filter_by_own_name(browser, role, "#dashboard-filter input[type=submit]")
    totals = browser.texts("#dashboard-totals .dashboard-total.open strong")
    assert any(total.startswith("CHF") for total in totals), totals
