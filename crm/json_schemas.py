"""The declared shape of the CRM's JSON columns (see smartweb.json_schema)."""

from leads.choices import BusinessType, LeadSource, LeadStatus, WebsiteStatus


def _any_of(values) -> dict:
    return {"type": "array", "items": {"enum": list(values)}}


SCORE = {"type": "integer", "minimum": 0, "maximum": 100}

# Which leads a campaign calls: lists of allowed values, a score range, tag names.
LEAD_FILTER = {
    "type": "object",
    "properties": {
        "statuses": _any_of(LeadStatus.values),
        "sources": _any_of(LeadSource.values),
        "business_types": _any_of(BusinessType.values),
        "website_statuses": _any_of(WebsiteStatus.values),
        "min_score": SCORE,
        "max_score": SCORE,
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
    "additionalProperties": False,
}
