"""Explainable lead scoring.

Each factor looks at one thing we know about a lead and says how good it is, as a value
between 0 and 1 with a reason a person can read. The organization weighs the factors
(`organization.settings["lead_scoring"]["weights"]`, defaults below); the score is

    score = round(100 * sum(weight_i * value_i) / sum(weight_i))        (0..100)

and the breakdown stored with the lead shows each factor's weight, value, points
(its share of the score) and reason. A lead that asked not to be contacted scores 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from leads.choices import BusinessType, CompanySize, WebsiteStatus

VERSION = 1
DEFAULT_WEIGHTS: dict[str, int] = {
    "website": 30,
    "reputation": 15,
    "business_type": 10,
    "company_size": 10,
    "contactability": 15,
    "engagement": 20,
}
# Days of interactions that count as recent engagement.
ENGAGEMENT_WINDOW_DAYS = 90

# A business without a website, or with an outdated one, is who we sell to.
_WEBSITE_VALUE = {WebsiteStatus.NONE: 1.0, WebsiteStatus.OUTDATED: 0.7, WebsiteStatus.MODERN: 0.0}
_TRADE_VALUE = {
    BusinessType.PLUMBER: 1.0,
    BusinessType.ELECTRICIAN: 1.0,
    BusinessType.ROOFER: 1.0,
    BusinessType.HVAC: 1.0,
    BusinessType.BUILDER: 1.0,
    BusinessType.LANDSCAPER: 0.7,
    BusinessType.CARPENTER: 0.7,
    BusinessType.PAINTER: 0.6,
    BusinessType.LOCKSMITH: 0.6,
    BusinessType.PEST_CONTROL: 0.6,
    BusinessType.CLEANER: 0.4,
}
_SIZE_VALUE = {
    CompanySize.SOLO: 0.4,
    CompanySize.SMALL: 1.0,
    CompanySize.MEDIUM: 0.8,
    CompanySize.LARGE: 0.4,
}


@dataclass(frozen=True)
class ScoreInputs:
    """Everything the score depends on; `inputs_for` builds it from a lead."""

    website_status: str = ""
    google_rating: float | None = None
    google_review_count: int = 0
    business_type: str = ""
    size: str = ""
    has_phone: bool = False
    has_email: bool = False
    consent_to_contact: bool = False
    do_not_contact: bool = False
    recent_interactions: int = 0
    positive_outcomes: int = 0


def _website(i: ScoreInputs) -> tuple[float, str]:
    if i.website_status in _WEBSITE_VALUE:
        return _WEBSITE_VALUE[i.website_status], f"Website: {i.website_status}"
    return 0.4, "Website status unknown"


def _reputation(i: ScoreInputs) -> tuple[float, str]:
    if i.google_rating is None and not i.google_review_count:
        return 0.0, "No online reviews known"
    rating = min(max(i.google_rating or 0.0, 0.0), 5.0)
    value = 0.5 * rating / 5 + 0.5 * min(i.google_review_count, 50) / 50
    return value, f"Rated {rating:g}/5 from {i.google_review_count} reviews"


def _business_type(i: ScoreInputs) -> tuple[float, str]:
    value = _TRADE_VALUE.get(i.business_type, 0.3)
    return value, f"Trade: {i.business_type or 'unknown'}"


def _company_size(i: ScoreInputs) -> tuple[float, str]:
    if i.size in _SIZE_VALUE:
        return _SIZE_VALUE[i.size], f"Size: {i.size}"
    return 0.5, "Size unknown"


def _contactability(i: ScoreInputs) -> tuple[float, str]:
    value = 0.4 * i.has_phone + 0.3 * i.has_email + 0.3 * i.consent_to_contact
    parts = [
        name
        for name, present in (
            ("phone", i.has_phone),
            ("email", i.has_email),
            ("consent", i.consent_to_contact),
        )
        if present
    ]
    return value, ("Has " + ", ".join(parts)) if parts else "No way to reach them"


def _engagement(i: ScoreInputs) -> tuple[float, str]:
    value = 0.5 * min(i.recent_interactions, 5) / 5 + 0.5 * min(i.positive_outcomes, 2) / 2
    return value, (
        f"{i.recent_interactions} interactions in {ENGAGEMENT_WINDOW_DAYS} days,"
        f" {i.positive_outcomes} positive"
    )


FACTORS: dict[str, Callable[[ScoreInputs], tuple[float, str]]] = {
    "website": _website,
    "reputation": _reputation,
    "business_type": _business_type,
    "company_size": _company_size,
    "contactability": _contactability,
    "engagement": _engagement,
}


def weights_for(organization_settings: Mapping | None) -> dict[str, float]:
    """The organization's weights, each falling back to the default when missing or bad."""
    configured = ((organization_settings or {}).get("lead_scoring") or {}).get("weights") or {}
    weights = {}
    for name, default in DEFAULT_WEIGHTS.items():
        value = configured.get(name, default) if isinstance(configured, Mapping) else default
        valid = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        weights[name] = float(value) if valid and value >= 0 else float(default)
    return weights


def compute(inputs: ScoreInputs, weights: Mapping[str, float]) -> tuple[int, dict]:
    """The score (0..100) and its breakdown."""
    total_weight = sum(weights.values())
    factors = {}
    weighted = 0.0
    for name, factor in FACTORS.items():
        value, reason = factor(inputs)
        weight = weights.get(name, 0.0)
        weighted += weight * value
        share = 100 * weight * value / total_weight if total_weight else 0.0
        factors[name] = {
            "weight": weight,
            "value": round(value, 4),
            "points": round(share, 2),
            "reason": reason,
        }
    score = round(100 * weighted / total_weight) if total_weight else 0
    if inputs.do_not_contact:
        score = 0
    score = min(max(score, 0), 100)
    breakdown = {
        "version": VERSION,
        "score": score,
        "total_weight": total_weight,
        "do_not_contact": inputs.do_not_contact,
        "factors": factors,
    }
    return score, breakdown


def inputs_for(lead, *, recent_interactions: int, positive_outcomes: int) -> ScoreInputs:
    company = lead.company
    presence = company.online_presence if isinstance(company.online_presence, dict) else {}
    rating = presence.get("google_rating")
    reviews = presence.get("google_review_count")
    return ScoreInputs(
        website_status=presence.get("website_status", "") or "",
        google_rating=float(rating) if isinstance(rating, int | float) else None,
        google_review_count=int(reviews) if isinstance(reviews, int) and reviews > 0 else 0,
        business_type=company.business_type,
        size=company.size,
        has_phone=bool(lead.contact_phone_normalized or company.phone_normalized),
        has_email=bool(lead.contact_email_normalized or company.email_normalized),
        consent_to_contact=lead.consent_to_contact,
        do_not_contact=lead.do_not_contact,
        recent_interactions=recent_interactions,
        positive_outcomes=positive_outcomes,
    )
