"""The sales dashboard page of the admin: a filter (date range, owner), totals per
currency, and its charts drawn as SVG on the server (`smartweb.svg_charts`)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from crm import dashboard
from crm.models import Pipeline
from crm.owner_filter import OwnerFilterField
from smartweb.replica import reporting_view
from smartweb.svg_charts import Series, bar_chart, hbar_chart

OPEN_COLOR, WON_COLOR = "#1565c0", "#2e7d32"


class DashboardFilter(forms.Form):
    """The period and the owner (`OwnerFilterField`: the viewer first, then the owners
    whose deals they may read)."""

    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    owner = OwnerFilterField()

    def __init__(self, data, *, user):
        self.default = dashboard.Period.default()
        initial = {"start": self.default.start, "end": self.default.end}
        super().__init__(data or None, initial=initial)
        self.fields["owner"].offer_owners_seen_by(user)

    def clean(self):
        cleaned = super().clean()
        # A bound left empty is the default one.
        start = cleaned["start"] = cleaned.get("start") or self.default.start
        end = cleaned["end"] = cleaned.get("end") or self.default.end
        if end < start:
            raise forms.ValidationError("The end of the period is before its start.")
        if dashboard.month_count(start, end) > dashboard.MAX_MONTHS:
            raise forms.ValidationError("Choose a period of two years at most.")
        return cleaned

    def period(self) -> dashboard.Period:
        """The period asked for, or the default one when the form is empty or invalid."""
        if not self.is_bound or not self.is_valid():
            return self.default
        owner = self.cleaned_data["owner"]
        return dashboard.Period(
            start=self.cleaned_data["start"],
            end=self.cleaned_data["end"],
            owner_id=owner.pk if owner else None,
        )


@reporting_view
def dashboard_view(model_admin, request) -> TemplateResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = DashboardFilter(request.GET, user=request.user)
    period = form.period()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Sales dashboard",
        "opts": model_admin.model._meta,
        "form": form,
        "period": period,
        **charts(request.user, period),
    }
    return TemplateResponse(request, "crm/admin/dashboard.html", context)


def charts(user, period: dashboard.Period) -> dict:
    """Totals per currency and the four charts of the period, as SVG markup."""
    pipeline = Pipeline.objects.filter(is_default=True).first()
    funnel = dashboard.funnel(user=user, pipeline=pipeline, period=period) if pipeline else []
    sources = dashboard.lead_sources(user=user, period=period)
    calls = dashboard.call_outcomes(user=user, period=period)
    return {
        "totals": dashboard.totals(user=user, period=period),
        "monthly": [
            {"currency": currency, "chart": _monthly_chart(currency, rows)}
            for currency, rows in dashboard.by_month(user=user, period=period).items()
        ],
        "pipeline": pipeline,
        "funnel": funnel,
        "funnel_chart": hbar_chart(
            [row["stage"].name for row in funnel],
            [Series("Deals", [row["count"] for row in funnel])],
            label="Deals per stage",
        )
        if funnel
        else "",
        "sources_chart": hbar_chart(
            [row["label"] for row in sources],
            [
                Series("Leads", [row["count"] for row in sources], OPEN_COLOR),
                Series("Converted", [row["converted"] for row in sources], WON_COLOR),
            ],
            label="Leads per source",
        )
        if sources
        else "",
        "outcomes_chart": hbar_chart(
            [row["label"] for row in calls["by_outcome"]],
            [Series("Calls", [row["count"] for row in calls["by_outcome"]])],
            label="AI calls per outcome",
        )
        if calls["by_outcome"]
        else "",
        "call_statuses": calls["by_status"],
    }


def _monthly_chart(currency: str, rows: list[dict]):
    return bar_chart(
        [row["month"].strftime("%b %Y") for row in rows],
        [
            Series(f"Open, weighted ({currency})", [r["weighted_value"] for r in rows], OPEN_COLOR),
            Series(f"Won ({currency})", [r["won_value"] for r in rows], WON_COLOR),
        ],
        label=f"Weighted open value and won value by month, {currency}",
        width=760,
    )
