"""The lead page as the hub of the sales work: the steps allowed now on this lead (qualify,
disqualify or move along the status graph, log a call, email, meeting or note, create a
task, convert, propose, erase the person's data), its timeline and its score explained.

Each step runs the service the API runs (`leads.services`, `crm.services`,
`compliance.services`). Conversion and proposals are done on the pages that exist for
them (the convert page, the proposal form), opened on this lead.
"""

from __future__ import annotations

from django import forms
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from attachments.admin import download_url
from compliance import services as compliance_services
from compliance.erased import ErasedRowStepsMixin, is_erased
from crm import services as crm_services
from crm.choices import TaskPriority, TaskType
from crm.models import Opportunity
from crm.proposal_reach import may_add_proposal
from leads import scoring, services, timeline
from leads.choices import Direction, InteractionType, LeadStatus, Outcome
from leads.models import Lead
from mailing.admin_steps import SendEmailStep
from sharing.admin import SHARE_STEP
from sharing.reassigning import may_reassign
from smartweb import access, people
from smartweb.admin_steps import Step, StepsAdminMixin
from smartweb.rbac import Action, Resource

# Statuses with a step of their own: qualify and disqualify have buttons, and a lead is
# converted by the convert page (which creates its opportunity).
OWN_STEP_STATUSES = (LeadStatus.QUALIFIED, LeadStatus.UNQUALIFIED, LeadStatus.CONVERTED)


def _may_update(user, lead: Lead) -> bool:
    return access.can(user, Action.UPDATE, Resource.LEADS, obj=lead)


def _live(lead: Lead) -> bool:
    return lead.deleted_at is None


def _open_opportunity(lead: Lead) -> Opportunity | None:
    """The lead's open opportunity (read once per page, kept on the lead)."""
    if "_open_opportunity" not in lead.__dict__:
        lead._open_opportunity = Opportunity.objects.open().filter(lead=lead).first()
    return lead._open_opportunity


# --- status ------------------------------------------------------------------------


def _score_against_threshold(lead: Lead) -> tuple[int, int]:
    threshold = services.qualification_threshold(services.organization_settings())
    computed = (lead.score_breakdown or {}).get("score", lead.lead_score)
    return computed, threshold


class StatusForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, lead: Lead, target: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        if target is None:
            allowed = services.allowed_transitions(lead.status)
            choices = [(s, LeadStatus(s).label) for s in allowed if s not in OWN_STEP_STATUSES]
            self.fields = {"status": forms.ChoiceField(choices=choices), **self.fields}
        elif target == LeadStatus.QUALIFIED:
            computed, threshold = _score_against_threshold(lead)
            if computed < threshold:
                # The rule of `lead_change_status`, asked for before it refuses.
                self.fields["reason"].required = True
                self.fields["reason"].help_text = (
                    f"Required: the computed score {computed} is below the qualification"
                    f" threshold of {threshold}."
                )


class StatusStep(Step):
    """A move along the lead status graph: to `target`, or to a status chosen on the form."""

    form_class = StatusForm

    def __init__(self, name: str, label: str, target: str | None = None):
        self.name, self.label, self.target = name, label, target
        self.done = "Status changed."

    def _targets(self, lead: Lead) -> list[str]:
        allowed = services.allowed_transitions(lead.status)
        if self.target is not None:
            return [self.target] if self.target in allowed else []
        return [s for s in allowed if s not in OWN_STEP_STATUSES]

    def permitted(self, user, obj) -> bool:
        return _may_update(user, obj)

    def available(self, obj) -> bool:
        return _live(obj) and bool(self._targets(obj))

    def form_kwargs(self, request, obj) -> dict:
        return {"lead": obj, "target": self.target}

    def run(self, request, obj, data):
        services.lead_change_status(
            lead=obj,
            status=self.target or data["status"],
            acting_user=request.user,
            reason=data["reason"],
        )


# --- interactions ------------------------------------------------------------------


class InteractionForm(forms.Form):
    subject = forms.CharField(max_length=200, required=False)
    content = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.OUTBOUND)
    outcome = forms.ChoiceField(choices=[("", "—"), *Outcome.choices], required=False)
    occurred_at = forms.DateTimeField(
        required=False, help_text="When it happened (YYYY-MM-DD HH:MM); now if left empty."
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        if kind == InteractionType.NOTE:
            # A note is the team's own: no direction, no outcome.
            del self.fields["direction"], self.fields["outcome"]


class LogStep(Step):
    form_class = InteractionForm

    def __init__(self, kind: str, label: str):
        self.kind, self.name, self.label = kind, f"log-{kind}", label
        self.done = f"{InteractionType(kind).label.capitalize()} logged."

    def permitted(self, user, obj) -> bool:
        # The rule of `interaction_log`: creating interactions, within the lead's scope.
        return access.within_scope(user, Action.CREATE, obj, resource=Resource.INTERACTIONS)

    def available(self, obj) -> bool:
        return _live(obj)

    def form_kwargs(self, request, obj) -> dict:
        return {"kind": self.kind}

    def run(self, request, obj, data):
        values = {k: v for k, v in data.items() if v not in (None, "")}
        values.setdefault("direction", Direction.INTERNAL)
        services.interaction_log(
            lead=obj, acting_user=request.user, data={**values, "type": self.kind}
        )


# --- tasks -------------------------------------------------------------------------


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=TaskType.choices, initial=TaskType.FOLLOW_UP)
    priority = forms.ChoiceField(choices=TaskPriority.choices, initial=TaskPriority.NORMAL)
    due_at = forms.DateTimeField(required=False, help_text="YYYY-MM-DD HH:MM")
    assigned_to = forms.ModelChoiceField(queryset=None, required=False, empty_label="Me")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # "Me" is the empty choice: each colleague once more, by name.
        users = access.assignable_users(user, Action.CREATE, Resource.TASKS).exclude(pk=user.pk)
        field = people.named_people(self.fields["assigned_to"])
        field.queryset = users.order_by("full_name", "email")


class TaskStep(Step):
    name, label, done = "task", "Create a task", "Task created."
    form_class = TaskForm

    def permitted(self, user, obj) -> bool:
        # The rule of `task_create`: work on the lead, for whoever may change it.
        return access.can(user, Action.CREATE, Resource.TASKS) and _may_update(user, obj)

    def available(self, obj) -> bool:
        return _live(obj)

    def form_kwargs(self, request, obj) -> dict:
        return {"user": request.user}

    def run(self, request, obj, data):
        values = {k: v for k, v in data.items() if v not in (None, "")}
        crm_services.task_create(acting_user=request.user, lead=obj, **values)


# --- conversion and proposals (on their own pages) ---------------------------------


class ConvertStep(Step):
    name, label = "convert", "Convert to an opportunity"

    def permitted(self, user, obj) -> bool:
        # It takes the lead's sale: whoever's role may change the lead, not a colleague it
        # is shared with (`lead_convert`).
        return access.can(user, Action.CREATE, Resource.OPPORTUNITIES) and may_reassign(
            user, obj, Resource.LEADS
        )

    def available(self, obj) -> bool:
        return (
            _live(obj)
            and obj.status in crm_services.CONVERTIBLE_LEAD_STATUSES
            and _open_opportunity(obj) is None
        )

    def link(self, obj) -> str:
        return f"{reverse('admin:crm_opportunity_convert')}?{urlencode({'lead': obj.pk})}"


class ProposalStep(Step):
    name, label = "proposal", "Create a proposal"

    def permitted(self, user, obj) -> bool:
        opportunity = _open_opportunity(obj)
        return (
            opportunity is not None
            and access.can(user, Action.CREATE, Resource.PROPOSALS)
            and may_add_proposal(user, opportunity)
        )

    def available(self, obj) -> bool:
        return _live(obj) and _open_opportunity(obj) is not None

    def link(self, obj) -> str:
        query = urlencode({"opportunity": _open_opportunity(obj).pk})
        return f"{reverse('admin:crm_proposal_add')}?{query}"


# --- erasure -----------------------------------------------------------------------


class EraseStep(Step):
    name, label = "erase", "Erase the person's data (GDPR)"
    button = "Yes, erase this person's data"
    done = "The person's data was erased."
    warning = (
        "The personal data of this lead's person will be overwritten everywhere, history"
        " included, and their emails and phones put on the suppression list. An open"
        " erasure request of theirs is answered by it. This cannot be undone."
    )

    def permitted(self, user, obj) -> bool:
        return access.can(user, Action.DELETE, Resource.COMPLIANCE) and access.can(
            user, Action.DELETE, Resource.LEADS, obj=obj
        )

    def available(self, obj) -> bool:
        return not is_erased(obj)

    def run(self, request, obj, data):
        compliance_services.erase_subject(lead=obj, acting_user=request.user, request=request)


LEAD_STEPS: tuple[Step, ...] = (
    StatusStep("qualify", "Qualify", LeadStatus.QUALIFIED),
    StatusStep("disqualify", "Disqualify", LeadStatus.UNQUALIFIED),
    StatusStep("status", "Change status"),
    LogStep(InteractionType.CALL, "Log a call"),
    LogStep(InteractionType.EMAIL, "Log an email"),
    LogStep(InteractionType.MEETING, "Log a meeting"),
    LogStep(InteractionType.NOTE, "Add a note"),
    SendEmailStep(),
    TaskStep(),
    ConvertStep(),
    ProposalStep(),
    SHARE_STEP,
    EraseStep(),
)


# --- the page ----------------------------------------------------------------------


_PK = "00000000-0000-0000-0000-000000000000"
ENTRY_HTML = (
    '<li class="timeline-entry timeline-{}" data-kind="{}"><time datetime="{}">{}</time>'
    ' <span class="timeline-title">{}</span>{}{}</li>'
)


def timeline_html(entries) -> str:
    """The entries as the page's list items. Built here rather than in a template loop:
    with 200 entries the loop's variable look-ups and filters, and a URL reversed per
    entry, were most of the page's time (one change URL is reversed per model)."""
    urls: dict[type, str] = {}

    def link(entry):
        if entry.obj is None:
            return entry.title
        if entry.kind == "file":
            return format_html('<a href="{}">{}</a>', download_url(entry.obj), entry.title)
        model = type(entry.obj)
        if model not in urls:
            meta = model._meta
            urls[model] = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[_PK])
        return format_html(
            '<a href="{}">{}</a>', urls[model].replace(_PK, str(entry.obj.pk)), entry.title
        )

    def item(entry):
        at = timezone.localtime(entry.at)
        by = format_html(' <span class="timeline-by">{}</span>', entry.by) if entry.by else ""
        detail = (
            format_html('<div class="timeline-detail">{}</div>', linebreaksbr(entry.detail))
            if entry.detail
            else ""
        )
        return (
            entry.kind,
            entry.kind,
            at.isoformat(),
            f"{at:%Y-%m-%d %H:%M}",
            link(entry),
            by,
            detail,
        )

    return format_html_join("", ENTRY_HTML, (item(entry) for entry in entries))


class LeadHubMixin(ErasedRowStepsMixin, StepsAdminMixin):
    """The lead's change page with its next steps and timeline (mix into the lead admin)."""

    steps = LEAD_STEPS

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            entries = timeline.lead_timeline(lead=obj, user=request.user)
            context["timeline"] = timeline_html(entries)
            context["timeline_count"] = len(entries)
            context["timeline_limit"] = timeline.LIMIT
        return super().render_change_form(request, context, add, change, form_url, obj)


# --- the score ---------------------------------------------------------------------


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value or "—")


def score_table(lead: Lead):
    """The score and what made it: each factor's weight, how well the lead meets it, the
    points it brings and why; the threshold a lead qualifies at; a score set by hand."""
    breakdown = lead.score_breakdown or {}
    factors = breakdown.get("factors") or {}
    if not factors:
        return "Not scored yet."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                name.replace("_", " ").capitalize(),
                _number(factor.get("weight")),
                f"{round(100 * factor['value'])} %" if "value" in factor else "—",
                _number(factor.get("points")),
                factor.get("reason", ""),
            )
            for name, factor in factors.items()
        ),
    )
    computed, threshold = _score_against_threshold(lead)
    notes = [
        format_html(
            "Computed score <strong>{}</strong> (the sum of the points); a lead qualifies"
            " from {} without a reason.",
            computed,
            threshold,
        )
    ]
    if breakdown.get("do_not_contact"):
        notes.append(format_html("The lead asked not to be contacted: its score is 0."))
    if breakdown.get("override") is not None:
        notes.append(format_html("Set by hand to <strong>{}</strong>.", breakdown["override"]))
    unknown = set(factors) - set(scoring.FACTORS)
    if unknown:
        notes.append(format_html("Scored with factors no longer used: {}.", ", ".join(unknown)))
    return format_html(
        '<table class="score-breakdown"><thead><tr><th>factor</th><th>weight</th>'
        "<th>met</th><th>points</th><th>why</th></tr></thead><tbody>{}</tbody></table>{}",
        rows,
        format_html_join("", "<p>{}</p>", ((note,) for note in notes)),
    )


__all__ = ["LEAD_STEPS", "LeadHubMixin", "score_table", "timeline_html"]
