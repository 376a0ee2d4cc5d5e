"""The pipeline board in Chromium: cards dragged between stages (HTML5 drag events, as a
mouse drag sends them), a refused move said and undone, an allowed one stored; won and
lost ask why first; every stage fits a 1,400 px window; the owner filter offers the
viewer first ("Me") and only the owners whose deals they see."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.urls import reverse
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from crm import services
from crm.choices import OpportunityStatus
from crm.models import Opportunity
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

_numbers = itertools.count(1)

# What a mouse drag from a card to a stage makes the browser send (Selenium's own drag
# moves the pointer but sends no HTML5 drag events in Chromium).
DRAG = """
const [card, column] = arguments;
const data = new DataTransfer();
const send = (target, type) => target.dispatchEvent(
    new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: data}));
send(card, "dragstart");
send(column, "dragenter");
send(column, "dragover");
send(column, "drop");
send(card, "dragend");
"""


@pytest.fixture
def deal(read):
    """A new open deal of the demo admin's, in the default pipeline's first stage."""
    organization = pages.demo_organization()
    owner = User.objects.get(email=pages.email_of("admin"))
    name = f"Board drag deal {next(_numbers)}"
    return crm_factories.opportunity(
        organization, owner=owner, name=name, value=Decimal("9999000.00")
    )


def _stored(opportunity) -> Opportunity:
    with tenant_context(opportunity.organization_id):
        return Opportunity.objects.select_related("stage").get(pk=opportunity.pk)


def _open_board(browser, opportunity) -> None:
    browser.login(pages.email_of("admin"))
    browser.open(reverse("admin:crm_pipeline_board", args=[opportunity.pipeline_id]))


def _card(opportunity) -> str:
    return f".crm-card[data-opportunity='{opportunity.pk}']"


def _column_of_card(browser, opportunity) -> str:
    return browser.read(
        "const c = document.querySelector(arguments[0]); "
        "return c ? c.closest('.crm-column').dataset.stageName : null",
        _card(opportunity),
    )


def _drag(browser, opportunity, stage: str) -> None:
    browser.driver.execute_script(
        DRAG,
        browser.find(_card(opportunity)),
        browser.find(f".crm-column[data-stage-name='{stage}']"),
    )


def _said(browser, level: str) -> str:
    """The board's message of `level` once it shows (the move's answer has come)."""
    css = f"#crm-board-status li.{level}"
    WebDriverWait(browser.driver, 30).until(lambda d: browser.exists(css))
    return browser.texts(css)[0]


def test_a_refused_drag_says_why_and_the_card_returns(browser, deal):
    with tenant_context(deal.organization_id):
        won = deal.pipeline.stages.get(is_won=True)
        services.opportunity_move_stage(opportunity=deal, stage=won, acting_user=None)
    _open_board(browser, deal)
    assert _column_of_card(browser, deal) == "Won"
    _drag(browser, deal, "New")
    assert "reopen it explicitly" in _said(browser, "error")
    assert _column_of_card(browser, deal) == "Won"
    assert _stored(deal).status == OpportunityStatus.WON


def _deals_in(browser, stage: str) -> int:
    """The count a stage's totals show ("3 deals · EUR …")."""
    return int(browser.texts(f".crm-column[data-stage-name='{stage}'] .crm-sum")[0].split()[0])


def test_an_allowed_drag_is_stored_and_the_totals_follow(browser, deal):
    _open_board(browser, deal)
    assert _column_of_card(browser, deal) == "New"
    before = {stage: _deals_in(browser, stage) for stage in ("New", "Proposal")}
    _drag(browser, deal, "Proposal")
    assert _said(browser, "success") == f"“{deal.name}” moved to Proposal."
    stored = _stored(deal)
    assert stored.stage.name == "Proposal" and stored.probability == 50
    assert _column_of_card(browser, deal) == "Proposal"
    assert "50%" in browser.texts(_card(deal))[0]
    # The totals follow the move without a reload.
    assert _deals_in(browser, "New") == before["New"] - 1
    assert _deals_in(browser, "Proposal") == before["Proposal"] + 1


def test_lost_asks_why_before_the_move_and_cancel_puts_the_card_back(browser, deal):
    _open_board(browser, deal)
    _drag(browser, deal, "Lost")
    WebDriverWait(browser.driver, 10).until(lambda d: browser.exists("#crm-board-reason[open]"))
    assert "Why was it lost?" in browser.texts("#crm-board-reason label")[0]
    browser.click("#crm-board-reason button[value='cancel']", navigates=False)
    # The card goes back when the dialog's close event runs, after the click returns.
    WebDriverWait(browser.driver, 10).until(lambda d: _column_of_card(browser, deal) == "New")
    assert _column_of_card(browser, deal) == "New"
    assert _stored(deal).status == OpportunityStatus.OPEN

    _drag(browser, deal, "Lost")
    WebDriverWait(browser.driver, 10).until(lambda d: browser.exists("#crm-board-reason[open]"))
    browser.fill("reason", "Went with a cousin's agency")
    browser.click("#crm-board-reason button[value='move']", navigates=False)
    assert _said(browser, "success") == f"“{deal.name}” moved to Lost."
    stored = _stored(deal)
    assert stored.status == OpportunityStatus.LOST
    assert stored.lost_reason == "Went with a cousin's agency"


def test_every_stage_fits_a_1400_px_window(browser, deal):
    _open_board(browser, deal)
    width = browser.driver.execute_script("return window.innerWidth")
    assert width <= 1400
    overflow = browser.driver.execute_script(
        "const root = document.documentElement;"
        "return [root.scrollWidth - root.clientWidth,"
        " Math.max(...Array.from(document.querySelectorAll('.crm-column'),"
        " c => c.getBoundingClientRect().right)) - root.clientWidth]"
    )
    assert overflow[0] <= 0, "the page scrolls sideways"
    assert overflow[1] <= 0, "a stage is cut off"
    assert len(browser.find_all(".crm-column")) == 6


@pytest.mark.parametrize("role", ["rep", "manager", "admin"])
def test_the_owner_filter_offers_me_first_and_only_whose_deals_i_see(browser, read, role):
    me = User.objects.get(email=pages.email_of(role))
    mine = crm_factories.opportunity(pages.demo_organization(), owner=me)
    browser.login(me.email)
    browser.open(reverse("admin:crm_pipeline_board", args=[mine.pipeline_id]))
    pages.filter_by_own_name(browser, role, ".crm-board-filters button[type=submit]")
    assert browser.exists(_card(mine))
    cards = browser.texts(".crm-card")
    assert cards and all(me.get_full_name() in card for card in cards)
