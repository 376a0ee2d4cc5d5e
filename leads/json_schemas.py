"""The declared shape of the leads app's JSON columns (see smartweb.json_schema)."""

from leads.choices import WebsiteStatus

SENTIMENTS = ["positive", "neutral", "negative"]
TEXT = {"type": "string"}

ONLINE_PRESENCE = {
    "type": "object",
    "properties": {
        "website_status": {"enum": WebsiteStatus.values},
        "google_rating": {"type": "number", "minimum": 0, "maximum": 5},
        "google_review_count": {"type": "integer", "minimum": 0},
        # network -> profile URL (the URLs are checked by leads.services too)
        "social_profiles": {"type": "object", "additionalProperties": TEXT},
    },
}

# Free-form notes of the company: any object (within json_input's limits).
METADATA = {"type": "object"}

AI_ANALYSIS = {
    "type": "object",
    "properties": {
        "sentiment": {"enum": SENTIMENTS},
        "intent": TEXT,
        "summary": TEXT,
        "next_steps": {"type": "array", "items": TEXT},
    },
}

# What a provider found: the online presence keys and company fields it may fill are
# copied onto the company, so they have the company's types; anything else is kept.
ENRICHMENT_DATA = {
    "type": "object",
    "properties": {
        **ONLINE_PRESENCE["properties"],
        **dict.fromkeys(("phone", "email", "website", "size", "city", "postal_code"), TEXT),
    },
}
