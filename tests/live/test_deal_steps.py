"""The steps of a deal in the browser, on deals of the demo rep made for each test: Mark
won and Mark lost ask why as the board does (an empty answer is refused on the form, kept),
and the reason is stored and shown, on the deal (lost) or in its history (won). Reopen
brings a won or lost deal back into an open stage for whoever may change it (and the page
says so), and is not offered to a role that may not; a proposal of a closed deal is offered
neither "Mark accepted" nor "Mark rejected", from its page or its list, and is offered both
again once the deal is reopened. The reopened deal's page is saved unchanged. The deal's page
and its proposal's each list the contract drawn from the proposal, and open it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User
from crm import services
from crm.choices import OpportunityStatus, ProposalStatus
from crm.models import Contract, Opportunity, PipelineStage, Proposal
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm_factories
from tests.live import pages

OPEN_DEAL_STEPS = {"move", "won", "lost", "proposal"}


def _in_demo(query):
    with tenant_context(pages.demo_organization()):
        return query()


def _deal() -> Opportunity:
    """A new open deal of the rep (who is in the manager's team)."""
    rep = User.objects.get(email=pages.email_of("rep"))
    return crm_factories.opportunity(pages.demo_organization(), owner=rep)


def _close(deal: Opportunity, close: str) -> Opportunity:
    """The deal moved into its pipeline's won or lost stage."""
    with tenant_context(pages.demo_organization()):
        services.opportunity_move_stage(
            opportunity=deal,
            stage=deal.pipeline.stage_flagged(f"is_{close}"),
            acting_user=None,
            lost_reason="Went elsewhere" if close == "lost" else "",
        )
        return Opportunity.objects.get(pk=deal.pk)


def _closed_deal(close: str) -> Opportunity:
    return _close(_deal(), close)


def _sent_proposal(deal: Opportunity) -> Proposal:
    proposal = crm_factories.proposal(pages.demo_organization(), deal)
    with tenant_context(pages.demo_organization()):
        return services.proposal_send(proposal=proposal, acting_user=None, email=False)


def _offered(browser) -> set[str]:
    return set(
        browser.read(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.dataset.step)",
            "#next-steps a",
        )
    )


def _shown(browser, field: str) -> str:
    """What a read-only field of the change page shows."""
    return browser.find(f".field-{field} .readonly").text.strip()


def _page(obj) -> str:
    return reverse(f"admin:crm_{obj._meta.model_name}_change", args=[obj.pk])


def _step_url(obj, name: str) -> str:
    return reverse(f"admin:crm_{obj._meta.model_name}_step", args=[obj.pk, name])


def _reason_shown(browser, deal, close: str) -> str:
    """Where the page shows why the deal closed: its lost reason, or the change reason of
    the latest entry of its history."""
    if close == "lost":
        return _shown(browser, "lost_reason")
    browser.open(reverse("admin:crm_opportunity_history", args=[deal.pk]))
    return browser.texts("#change-history tbody tr")[0]


@pytest.mark.parametrize("close", ["won", "lost"])
def test_closing_a_deal_from_its_page_asks_why_as_the_board_does(browser, read, close):
    deal = _deal()
    reason = "Loved the demo site" if close == "won" else "Went with a cousin's agency"
    browser.login(pages.email_of("rep"))
    browser.open(_page(deal))
    browser.click(f"#next-steps a[data-step='{close}']")
    assert browser.texts(".field-reason label") == [f"Why was it {close}?"]

    browser.fill("reason", "   ")
    browser.click("input[name='_step']")
    assert browser.errors() == [f"Say why the opportunity was {close}."]
    assert browser.path == _step_url(deal, close)
    assert browser.exists("textarea[name='reason']") and browser.exists("input[name='_step']")
    assert _in_demo(lambda: Opportunity.objects.get(pk=deal.pk)).status == OpportunityStatus.OPEN

    browser.fill("reason", reason)
    browser.click("input[name='_step']")
    assert browser.errors() == [], browser.errors()
    assert f"Marked {close}." in browser.messages()
    assert browser.path == _page(deal)
    assert _shown(browser, "status") == close.capitalize()
    stored = _in_demo(lambda: Opportunity.objects.get(pk=deal.pk))
    latest = _in_demo(lambda: stored.history.latest())
    assert stored.status == close
    if close == "won":
        assert (latest.history_change_reason, stored.lost_reason) == (reason, "")
    else:
        assert stored.lost_reason == reason
    assert reason in _reason_shown(browser, deal, close)


@pytest.mark.parametrize(
    ("role", "close"), [("rep", "won"), ("manager", "lost"), ("admin", "lost")]
)
def test_reopen_from_the_button_of_a_closed_deal(browser, read, role, close):
    deal = _closed_deal(close)
    negotiation = _in_demo(
        lambda: PipelineStage.objects.get(pipeline=deal.pipeline_id, name="Negotiation")
    )
    browser.login(pages.email_of(role))
    browser.open(_page(deal))
    assert _shown(browser, "status") == close.capitalize()
    assert _offered(browser) == {"reopen"}

    browser.click("#next-steps a[data-step='reopen']")
    stages = browser.options("stage").values()
    assert "Negotiation" in " ".join(stages)
    assert not any(label.endswith(("Won", "Lost")) for label in stages), stages
    browser.choose("stage", value=str(negotiation.pk))
    browser.click("input[name='_step']")

    assert browser.errors() == [], browser.errors()
    assert "Reopened." in browser.messages()
    assert browser.path == _page(deal)
    assert _shown(browser, "status") == "Open"
    assert "Negotiation" in _shown(browser, "stage")
    assert _offered(browser) == OPEN_DEAL_STEPS
    stored = _in_demo(lambda: Opportunity.objects.get(pk=deal.pk))
    assert (stored.status, stored.stage_id) == (OpportunityStatus.OPEN, negotiation.pk)
    assert stored.closed_at is None and stored.lost_reason == ""

    pages.save_unchanged(browser, admin.site.get_model_admin(Opportunity), deal.pk)


@pytest.mark.parametrize("close", ["won", "lost"])
def test_the_read_only_user_is_not_offered_reopen_and_cannot_post_it(browser, read, close):
    deal = _closed_deal(close)
    negotiation = _in_demo(
        lambda: PipelineStage.objects.get(pipeline=deal.pipeline_id, name="Negotiation")
    )
    browser.login(pages.email_of("viewer"))
    browser.open(_page(deal))
    assert _shown(browser, "status") == close.capitalize()
    assert _offered(browser) == set()
    assert not browser.exists("input[name='_continue']"), "the read-only user may not save"
    assert browser.status(_step_url(deal, "reopen")) == 403
    session = browser.session()
    posted = session.post(
        browser.base_url + _step_url(deal, "reopen"),
        data={"stage": str(negotiation.pk), "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": browser.base_url + _page(deal)},
        allow_redirects=False,
        timeout=60,
    )
    assert posted.status_code == 403
    stored = _in_demo(lambda: Opportunity.objects.get(pk=deal.pk))
    assert (stored.status, stored.stage_id) == (deal.status, deal.stage_id)


def test_a_rep_without_the_deal_in_their_scope_cannot_reach_it(browser, read):
    deal = _closed_deal("lost")
    browser.login(pages.email_of("rep2"))
    assert browser.status(_page(deal)) == 404
    assert browser.status(_step_url(deal, "reopen")) == 404


@pytest.mark.parametrize("close", ["won", "lost"])
def test_a_proposal_of_a_closed_deal_is_offered_no_answer_until_reopened(browser, read, close):
    deal = _deal()
    proposal = _sent_proposal(deal)
    _close(deal, close)
    browser.login(pages.email_of("rep"))
    browser.open(_page(proposal))
    assert _offered(browser) == set()
    assert not browser.exists("input[name='_continue']"), "a sent proposal is not edited"
    # The step's own address, typed in, leads back to the proposal with the reason.
    browser.open(_step_url(proposal, "reject"))
    assert browser.path == _page(proposal)
    assert "“Mark rejected” is not possible now." in browser.messages()

    browser.open(reverse("admin:crm_proposal_changelist") + f"?q={proposal.number}")
    assert {"mark_accepted", "mark_rejected"} <= set(browser.options("action"))
    browser.run_action("mark_rejected", [str(proposal.pk)])
    assert f"{proposal}: “Mark rejected” is not possible now." in browser.messages()
    browser.run_action("mark_accepted", [str(proposal.pk)])
    assert f"{proposal}: “Mark accepted” is not possible now." in browser.messages()
    stored = _in_demo(lambda: Proposal.objects.get(pk=proposal.pk))
    assert stored.status == ProposalStatus.SENT and stored.rejected_at is None
    assert not _in_demo(lambda: Contract.objects.filter(proposal=proposal).exists())

    # Reopened, the deal's proposal may be answered again.
    browser.open(_page(deal))
    browser.click("#next-steps a[data-step='reopen']")
    browser.click("input[name='_step']")
    assert "Reopened." in browser.messages()
    browser.open(_page(proposal))
    assert _offered(browser) == {"accept", "reject"}
    browser.click("#next-steps a[data-step='reject']")
    browser.fill("reason", "Went with a cheaper quote")
    browser.click("input[name='_step']")
    assert "Proposal rejected." in browser.messages()
    stored = _in_demo(lambda: Proposal.objects.get(pk=proposal.pk))
    assert (stored.status, stored.rejection_reason) == (
        ProposalStatus.REJECTED,
        "Went with a cheaper quote",
    )


def test_the_deal_and_its_proposal_lead_to_their_contract(browser, read):
    deal = _deal()
    proposal = _sent_proposal(deal)
    contract = _in_demo(lambda: services.proposal_accept(proposal=proposal, acting_user=None))
    browser.login(pages.email_of("rep"))
    for page in (_page(deal), _page(proposal)):
        browser.open(page)
        assert contract.number in browser.find("#contracts-group").text, page
        browser.click(f"#contracts-group a[href='{_page(contract)}']")
        assert browser.path == _page(contract)
