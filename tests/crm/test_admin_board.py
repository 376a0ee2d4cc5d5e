"""The pipeline board in the admin: a drop moves the deal through the stage-move service
(its rules, permission check and history, under the version the card was drawn with);
a refusal answers why; filters narrow the board and its totals stay per currency."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership
from crm import services
from crm.choices import OpportunityStatus
from crm.models import Opportunity
from smartweb import outage
from smartweb.tenancy.context import tenant_context
from smartweb.versioning import version_of
from tests.concurrency import second_connection, short_lock_timeout
from tests.crm import factories
from tests.factories import share
from tests.html_forms import select_labels

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _stage(opportunity, name):
    with tenant_context(opportunity.organization_id):
        return opportunity.pipeline.stages.get(name=name)


def _stored(opportunity) -> Opportunity:
    with tenant_context(opportunity.organization_id):
        return Opportunity.objects.select_related("stage").get(pk=opportunity.pk)


def _move(user, opportunity, stage_name, *, reason="", version=None, pipeline=None):
    stored = _stored(opportunity)
    pipeline_id = pipeline.pk if pipeline is not None else opportunity.pipeline_id
    url = reverse("admin:crm_pipeline_board_move", args=[pipeline_id])
    return _client(user).post(
        url,
        {
            "opportunity": str(opportunity.pk),
            "stage": str(_stage(opportunity, stage_name).pk),
            "version": version or version_of(stored.updated_at),
            "reason": reason,
        },
    )


def _board(user, pipeline_id, query: str = "") -> str:
    url = reverse("admin:crm_pipeline_board", args=[pipeline_id])
    response = _client(user).get(url + query)
    assert response.status_code == 200
    return response.content.decode()


def test_a_drop_on_another_stage_moves_the_deal_and_records_who(admin_a, opp_a):
    response = _move(admin_a, opp_a, "Discovery")
    assert response.status_code == 200, response.content
    answer = response.json()
    moved = _stored(opp_a)
    assert moved.stage.name == "Discovery" and moved.probability == Decimal("25")
    assert answer["stage"] == str(moved.stage_id)
    assert answer["version"] == version_of(moved.updated_at)
    assert "Drip Drop website" in answer["card"] and "25%" in answer["card"]
    # Every stage's totals as they now are: the deal counted in Discovery, not in New.
    assert answer["sums"][str(moved.stage_id)].startswith("1 deal")
    assert answer["sums"][str(_stage(opp_a, "New").pk)].startswith("0 deals")
    with tenant_context(opp_a.organization_id):
        latest = moved.history.latest()
    assert latest.history_user_id == admin_a.pk and latest.stage_id == moved.stage_id


def test_a_move_the_rules_forbid_is_refused_with_why(admin_a, opp_a):
    with tenant_context(opp_a.organization_id):
        services.opportunity_move_stage(
            opportunity=opp_a, stage=_stage(opp_a, "Won"), acting_user=None
        )
    response = _move(admin_a, opp_a, "New")
    assert response.status_code == 409
    assert "reopen it explicitly" in response.json()["error"]
    assert _stored(opp_a).status == OpportunityStatus.WON


@pytest.mark.parametrize("stage", ["Won", "Lost"])
def test_won_or_lost_needs_a_reason(admin_a, opp_a, stage):
    refused = _move(admin_a, opp_a, stage, reason="  ")
    assert refused.status_code == 400
    assert refused.json()["error"] == f"Say why the opportunity was {stage.lower()}."
    assert _stored(opp_a).status == OpportunityStatus.OPEN

    done = _move(admin_a, opp_a, stage, reason="Chose a cheaper agency" if stage == "Lost" else "")
    if stage == "Won":
        assert done.status_code == 400
        done = _move(admin_a, opp_a, stage, reason="Loved the demo site")
    assert done.status_code == 200, done.content
    closed = _stored(opp_a)
    assert closed.status == stage.lower()
    with tenant_context(opp_a.organization_id):
        reason = closed.history.latest().history_change_reason
    if stage == "Lost":
        assert closed.lost_reason == "Chose a cheaper agency"
    else:
        assert reason == "Loved the demo site" and closed.lost_reason == ""


def test_a_card_drawn_before_someone_else_changed_the_deal_is_refused(admin_a, manager_a, opp_a):
    drawn = version_of(_stored(opp_a).updated_at)
    organization = opp_a.organization_id
    with tenant_context(organization):
        membership = Membership.objects.get(user=manager_a)
    with tenant_context(organization, user=manager_a, membership=membership):
        services.opportunity_update(opportunity=opp_a, acting_user=manager_a, value=Decimal("5"))
    response = _move(admin_a, opp_a, "Discovery", version=drawn)
    assert response.status_code == 409
    error = response.json()["error"]
    assert "was changed by" in error and manager_a.email in error
    assert _stored(opp_a).stage.name == "New"


@pytest.mark.django_db(transaction=True)
def test_a_drop_while_another_change_holds_the_deal_says_so(org_a, admin_a, opp_a):
    """The card goes back with why, in words (not "the server answered 503")."""
    with second_connection(org_a) as other, other.transaction(), short_lock_timeout():
        other.execute("SELECT id FROM crm_opportunity WHERE id = %s FOR UPDATE", [opp_a.pk])
        response = _move(admin_a, opp_a, "Discovery")
    assert response.status_code == 409
    assert response.json() == {"error": outage.LOCK_TIMEOUT_MESSAGE}
    assert _stored(opp_a).stage.name == "New"
    assert _move(admin_a, opp_a, "Discovery").status_code == 200  # the other change done


def test_without_the_permission_the_board_is_read_only_and_a_move_is_403(readonly_a, opp_a):
    page = _board(readonly_a, opp_a.pipeline_id)
    assert "Drip Drop website" in page
    assert 'draggable="true"' not in page and "board.js" not in page
    response = _move(readonly_a, opp_a, "Discovery")
    assert response.status_code == 403
    assert response.json()["error"] == "You may not move opportunities."
    assert _stored(opp_a).stage.name == "New"


def test_another_organization_gets_404(admin_b, opp_a, opp_b):
    # A's pipeline, and A's deal on B's own pipeline: neither exists for B.
    assert _move(admin_b, opp_a, "Discovery").status_code == 404
    with tenant_context(opp_a.organization_id):
        stage = _stage(opp_a, "Discovery")
    url = reverse("admin:crm_pipeline_board_move", args=[opp_b.pipeline_id])
    response = _client(admin_b).post(url, {"opportunity": str(opp_a.pk), "stage": str(stage.pk)})
    assert response.status_code == 404
    assert _stored(opp_a).stage.name == "New"


def test_a_rep_moves_their_own_deals_only(rep_a, admin_a, opp_a, opp_a2):
    assert _move(rep_a, opp_a2, "Discovery").status_code == 404  # not theirs to see
    assert "Sparky website" not in _board(rep_a, opp_a.pipeline_id)
    # Shown to them (read), still not theirs to move: refused with why.
    share(opp_a2, rep_a, opp_a.organization, by=admin_a)
    refused = _move(rep_a, opp_a2, "Discovery")
    assert refused.status_code == 403 and refused.json()["error"]
    assert _stored(opp_a2).stage.name == "New"
    assert _move(rep_a, opp_a, "Discovery").status_code == 200
    assert _stored(opp_a).stage.name == "Discovery"


def test_filters_by_owner_and_close_date_with_totals_per_currency(org_a, admin_a, rep_a, rep_a2):
    today = dt.date(2027, 3, 10)
    factories.opportunity(
        org_a, owner=rep_a, name="Euro deal", currency="EUR", expected_close_date=today
    )
    factories.opportunity(
        org_a, owner=rep_a, name="Pound deal", currency="GBP", value=Decimal("300.00")
    )
    other = factories.opportunity(
        org_a, owner=rep_a2, name="Later deal", expected_close_date=today + dt.timedelta(days=60)
    )
    page = _board(admin_a, other.pipeline_id)
    assert "EUR 1,000.00" in page and "GBP 300.00" in page  # never added together
    mine = _board(admin_a, other.pipeline_id, f"?owner={rep_a.pk}")
    assert "Euro deal" in mine and "Pound deal" in mine and "Later deal" not in mine
    march = _board(admin_a, other.pipeline_id, "?closes_from=2027-03-01&closes_until=2027-03-31")
    assert "Euro deal" in march and "Later deal" not in march and "Pound deal" not in march
    backwards = "?closes_from=2027-04-01&closes_until=2027-03-01"
    backwards = _board(admin_a, other.pipeline_id, backwards)
    assert "ends before it starts" in backwards


def _owner_choices(user, pipeline_id, query: str = "") -> list[str]:
    """The labels of the board's owner filter, in order."""
    return select_labels(_board(user, pipeline_id, query), "owner")


def test_the_owner_filter_offers_me_first_then_only_whose_deals_i_may_see(
    admin_a, manager_a, rep_a, rep_a2, admin_b, opp_a
):
    pipeline = opp_a.pipeline_id
    # A rep sees their own deals only: no colleague is offered.
    assert _owner_choices(rep_a, pipeline) == ["Everyone", f"Me ({rep_a.get_full_name()})"]
    # A manager, their team's (rep_a2 is in no team of theirs).
    assert _owner_choices(manager_a, pipeline) == [
        "Everyone",
        f"Me ({manager_a.get_full_name()})",
        rep_a.get_full_name(),
    ]
    # An admin, the organization's members (none of another organization).
    others = sorted([manager_a, rep_a, rep_a2], key=lambda user: user.email)
    assert _owner_choices(admin_a, pipeline) == [
        "Everyone",
        f"Me ({admin_a.get_full_name()})",
        *(user.get_full_name() for user in others),
    ]


def test_a_rep_filtering_by_a_colleague_is_refused_and_sees_their_own_deals(
    rep_a, rep_a2, opp_a, opp_a2
):
    page = _board(rep_a, opp_a.pipeline_id, f"?owner={rep_a2.pk}")
    assert "Select a valid choice" in page
    assert "Drip Drop website" in page and "Sparky website" not in page
    mine = _board(rep_a, opp_a.pipeline_id, f"?owner={rep_a.pk}")
    assert "Select a valid choice" not in mine and "Drip Drop website" in mine


def test_the_board_reads_a_constant_number_of_queries(org_a, admin_a, rep_a):
    first = factories.opportunity(org_a, owner=rep_a)
    url = reverse("admin:crm_pipeline_board", args=[first.pipeline_id])
    client = _client(admin_a)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(6):
        factories.opportunity(org_a, owner=rep_a)
    assert queries() == few
