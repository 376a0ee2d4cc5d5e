"""The leads admin's JSON columns as forms (shapes in leads.json_schemas): a company's
online presence and an interaction's AI analysis."""

from __future__ import annotations

from django import forms

from leads.choices import WebsiteStatus
from leads.json_schemas import SENTIMENTS
from smartweb.json_widgets import JSONObjectField, JSONObjectForm


class OnlinePresenceForm(JSONObjectForm):
    list_fields = {"social_profiles": "pairs"}

    website_status = forms.ChoiceField(
        choices=[("", "—"), *WebsiteStatus.choices], required=False, label="Website"
    )
    google_rating = forms.FloatField(
        min_value=0, max_value=5, required=False, label="Google rating"
    )
    google_review_count = forms.IntegerField(min_value=0, required=False, label="Google reviews")
    social_profiles = forms.CharField(
        required=False,
        label="Social profiles",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="One a line: network: address, e.g. facebook: https://facebook.com/dripdrop",
    )


class AIAnalysisForm(JSONObjectForm):
    list_fields = {"next_steps": "lines"}

    sentiment = forms.ChoiceField(
        choices=[("", "—"), *((s, s) for s in SENTIMENTS)], required=False
    )
    intent = forms.CharField(required=False, max_length=200)
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    next_steps = forms.CharField(
        required=False,
        label="Next steps",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One a line.",
    )


def online_presence_field() -> JSONObjectField:
    return JSONObjectField(OnlinePresenceForm, label="Online presence")


def ai_analysis_field() -> JSONObjectField:
    return JSONObjectField(AIAnalysisForm, label="AI analysis")


# An interaction's page in the order it is written: who and when, what happened, what
# the AI made of it, then the record.
INTERACTION_FIELDSETS = [
    (None, {"fields": ["lead", "type", "direction", "occurred_at"]}),
    ("What happened", {"fields": ["subject", "content", "outcome", "duration_seconds"]}),
    ("AI analysis", {"fields": ["ai_analysis"]}),
    ("Record", {"fields": ["created_by", "created_at"]}),
]
