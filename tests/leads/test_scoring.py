"""The scoring arithmetic, factor by factor, and the organization's weights."""

import pytest

from leads import scoring
from leads.choices import BusinessType, CompanySize, WebsiteStatus
from leads.scoring import ScoreInputs, compute, weights_for

WEIGHTS = weights_for({})


def test_default_weights_sum_to_one_hundred():
    assert sum(WEIGHTS.values()) == 100


def test_best_prospect_scores_one_hundred():
    inputs = ScoreInputs(
        website_status=WebsiteStatus.NONE,
        google_rating=5.0,
        google_review_count=50,
        business_type=BusinessType.PLUMBER,
        size=CompanySize.SMALL,
        has_phone=True,
        has_email=True,
        consent_to_contact=True,
        recent_interactions=5,
        positive_outcomes=2,
    )
    score, breakdown = compute(inputs, WEIGHTS)
    assert score == 100
    points = {name: f["points"] for name, f in breakdown["factors"].items()}
    assert points == {
        "website": 30.0,
        "reputation": 15.0,
        "business_type": 10.0,
        "company_size": 10.0,
        "contactability": 15.0,
        "engagement": 20.0,
    }


def test_each_factor_contributes_weight_times_value():
    inputs = ScoreInputs(
        website_status=WebsiteStatus.OUTDATED,  # 0.7 * 30 = 21
        google_rating=4.0,  # 0.5 * 4/5 = 0.4
        google_review_count=25,  # + 0.5 * 25/50 = 0.25 -> 0.65 * 15 = 9.75
        business_type=BusinessType.PAINTER,  # 0.6 * 10 = 6
        size="",  # unknown: 0.5 * 10 = 5
        has_phone=True,  # 0.4 * 15 = 6
        recent_interactions=2,  # 0.5 * 2/5 = 0.2
        positive_outcomes=1,  # + 0.5 * 1/2 = 0.25 -> 0.45 * 20 = 9
    )
    score, breakdown = compute(inputs, WEIGHTS)
    points = {name: f["points"] for name, f in breakdown["factors"].items()}
    assert points == {
        "website": 21.0,
        "reputation": 9.75,
        "business_type": 6.0,
        "company_size": 5.0,
        "contactability": 6.0,
        "engagement": 9.0,
    }
    assert score == round(21 + 9.75 + 6 + 5 + 6 + 9) == 57
    assert breakdown["score"] == 57
    assert breakdown["factors"]["website"]["reason"] == "Website: outdated"


def test_organization_weights_rescale_to_one_hundred():
    weights = weights_for({"lead_scoring": {"weights": {"website": 60, "engagement": 0}}})
    assert weights["website"] == 60 and weights["engagement"] == 0
    inputs = ScoreInputs(website_status=WebsiteStatus.NONE)
    score, breakdown = compute(inputs, weights)
    total = 60 + 15 + 10 + 10 + 15
    # website 60*1, business type unknown 0.3*10, size unknown 0.5*10
    assert score == round(100 * (60 + 3 + 5) / total)
    assert breakdown["total_weight"] == total


@pytest.mark.parametrize("bad", [-5, "heavy", None, True])
def test_invalid_weights_fall_back_to_defaults(bad):
    weights = weights_for({"lead_scoring": {"weights": {"website": bad}}})
    assert weights["website"] == scoring.DEFAULT_WEIGHTS["website"]


def test_all_zero_weights_score_zero():
    weights = weights_for({"lead_scoring": {"weights": dict.fromkeys(scoring.DEFAULT_WEIGHTS, 0)}})
    assert compute(ScoreInputs(website_status=WebsiteStatus.NONE), weights)[0] == 0


def test_do_not_contact_scores_zero_but_keeps_the_breakdown():
    score, breakdown = compute(
        ScoreInputs(website_status=WebsiteStatus.NONE, do_not_contact=True), WEIGHTS
    )
    assert score == 0
    assert breakdown["do_not_contact"] is True
    assert breakdown["factors"]["website"]["points"] == 30.0
