"""A campaign's lead filter as a form (shape in crm.json_schemas.LEAD_FILTER), with a
live count of the leads it selects: a small admin JSON endpoint that the form's
script asks on every change."""

from __future__ import annotations

import calendar

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.urls import reverse

from crm import services
from crm.models import default_calling_days
from leads.choices import BusinessType, LeadSource, LeadStatus, WebsiteStatus
from smartweb import access
from smartweb.json_widgets import JSONObjectField, JSONObjectForm
from smartweb.rbac import Action, Resource, Scope

PREFIX = "lead_filter"


def _checkboxes(choices, label: str, help_text: str = "Any when none is ticked."):
    return forms.MultipleChoiceField(
        choices=choices,
        required=False,
        label=label,
        widget=forms.CheckboxSelectMultiple,
        help_text=help_text,
    )


class LeadFilterForm(JSONObjectForm):
    list_fields = {"tags": "csv"}

    statuses = _checkboxes(
        LeadStatus.choices,
        "Status",
        "None ticked: " + ", ".join(s.label.lower() for s in services.DEFAULT_TARGET_STATUSES),
    )
    sources = _checkboxes(LeadSource.choices, "Source")
    business_types = _checkboxes(BusinessType.choices, "Business type")
    website_statuses = _checkboxes(WebsiteStatus.choices, "Website")
    min_score = forms.IntegerField(min_value=0, max_value=100, required=False, label="Score from")
    max_score = forms.IntegerField(min_value=0, max_value=100, required=False, label="Score to")
    tags = forms.CharField(
        required=False, label="Tags", help_text="Any of these tags, separated by commas."
    )


def calling_days_field() -> forms.TypedMultipleChoiceField:
    """The weekdays as boxes to tick, Monday = 0 as in `datetime.weekday()`. A new
    campaign starts with the model's days ticked: a form field declared on the form does
    not take the model field's default by itself."""
    return forms.TypedMultipleChoiceField(
        choices=list(enumerate(calendar.day_name)),
        initial=default_calling_days,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        label="Calling days",
    )


def lead_filter_field() -> JSONObjectField:
    return JSONObjectField(LeadFilterForm, label="Lead filter")


def with_live_count(form) -> None:
    """Point the lead filter's widget at the count endpoint (for its script)."""
    form.fields[PREFIX].widget.attrs["data-count-url"] = reverse("admin:crm_campaign_lead_count")


def lead_count_view(request):
    """How many leads the filter in the query string selects, of those the user may read
    (as the campaign's statistics count them); for those who may create or change
    campaigns. A campaign calls every matching lead of the organization, whoever launches
    it: `whole_organization` says whether the count is of all of them, or of the user's
    scope only (the others are not counted, not even as "more")."""
    if not any(
        access.can(request.user, action, Resource.CAMPAIGNS)
        for action in (Action.CREATE, Action.UPDATE)
    ):
        raise PermissionDenied
    form = LeadFilterForm(request.GET, prefix=PREFIX)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    spec = form.to_value({})
    try:
        services.validate_lead_filter(spec)
    except ValidationError as exc:
        return JsonResponse({"errors": exc.messages}, status=400)
    matching = access.visible(request.user, Action.READ, services.leads_matching(spec))
    whole = access.scope_for(request.user, Action.READ, Resource.LEADS) == Scope.ALL
    return JsonResponse({"count": matching.count(), "whole_organization": whole})


# A campaign's page in the order it is set up: who to call, what to say, when, how
# much, then what happened.
CAMPAIGN_FIELDSETS = [
    (None, {"fields": ["name", "status", "description"]}),
    ("Who to call", {"fields": [PREFIX]}),
    ("What to say", {"fields": ["script", "provider"]}),
    (
        "When",
        {
            "fields": [
                "timezone",
                "calling_days",
                "calling_hours_start",
                "calling_hours_end",
                "starts_at",
                "ends_at",
            ]
        },
    ),
    ("Limits", {"fields": ["daily_call_limit", "total_call_limit", "max_attempts_per_lead"]}),
    ("Results", {"fields": ["launched_at", "paused_at", "completed_at", "results"]}),
]


class CurrencyField(forms.CharField):
    """A three-letter ISO 4217 code, read in capitals ("eur" is EUR) as the services read
    it; anything else is refused at the field in words, not by the database's check
    constraint's name."""

    def __init__(self, **kwargs):
        kwargs["max_length"] = 3
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return services.require_currency(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
