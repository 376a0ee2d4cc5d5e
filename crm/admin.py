"""Back office of the CRM: pipelines and their board, opportunities (converted from
qualified leads) with their proposals and tasks, proposals with priced lines, contracts,
AI call campaigns and their calls, tasks, and a sales dashboard.

Every write goes through `crm.services` (the same rules as the API); a refusal shows as
an error message and writes nothing. Every list, dropdown and page is scoped to the
current organization and the user's permission scope.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext

from accounts.models import User
from attachments.admin import AttachmentsAdminMixin
from compliance.erased import ErasedRowStepsMixin
from crm import admin_board, admin_forms, admin_steps, bounds, pricing, selectors, services
from crm.admin_dashboard import dashboard_view
from crm.choices import DUE_BY_TODAY, ContractStatus, ProposalStatus, TaskStatus
from crm.models import (
    AICall,
    AICallWebhookSecret,
    Campaign,
    Contract,
    Opportunity,
    Pipeline,
    PipelineStage,
    Proposal,
    ProposalLineItem,
    SalesDashboard,
    Task,
)
from crm.pipeline_locks import lock_pipeline
from crm.proposal_reach import proposal_deals
from leads.admin_search import ByLeadSearchMixin, PhoneSearchMixin
from leads.choices import LeadStatus
from leads.models import Lead
from leads.phone_search import of_leads_with
from sharing.admin import SharesAdminMixin
from smartweb import access, admin_submissions, listing
from smartweb.admin import (
    CurrentChoicesInlineMixin,
    FieldBoundsMixin,
    ReadOnlyAdminMixin,
    ScopedOwnerFilter,
    TenantModelAdmin,
    TenantOwnedModelAdmin,
    add_refusal,
    adopt,
    attempt,
)
from smartweb.admin_readers import NamedToReadersMixin
from smartweb.admin_secrets import SecretPage, SecretPageAdminMixin
from smartweb.admin_steps import StepsAdminMixin
from smartweb.admin_time_widgets import LocalDateTimeMixin
from smartweb.admin_versions import VersionedRowsInlineMixin
from smartweb.errors import NOT_PERMITTED, REFUSALS, refusal_message
from smartweb.forms import form_changes
from smartweb.json_widgets import KeepsJSONOriginalsMixin, json_object_html
from smartweb.models import stored_rows
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import acting_user


def _message(exc: Exception) -> str:
    return refusal_message(exc, default=NOT_PERMITTED)


class CRMAdmin(TenantOwnedModelAdmin):
    """Users offered as owners or assignees are active members of the organization;
    a service's refusal during a save is shown as a message and rolls the save back."""

    list_per_page = 50
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "currency":
            kwargs["form_class"] = admin_forms.CurrencyField
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is User:
            kwargs["queryset"] = selectors.active_members()
        elif hasattr(db_field.related_model, "rbac_resource"):
            kwargs["queryset"] = access.visible(
                request.user, Action.READ, db_field.related_model.objects.all()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def run_step(self, request, queryset, step, done: str) -> None:
        """Apply a workflow step to each selected row; report what worked and what not."""
        succeeded, refused = 0, []
        for obj in queryset:
            try:
                with transaction.atomic():
                    step(obj)
                succeeded += 1
            except REFUSALS as exc:
                refused.append(f"{obj}: {_message(exc)}")
        if succeeded:
            self.message_user(request, f"{done}: {succeeded}.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)


def save_inline_rows(formset, fields, *, save, delete) -> None:
    """Save an inline's rows through the services: `delete(row)` for rows marked for
    deletion, `save(row or None, changed values)` for changed and new rows. Records them
    on the formset as `formset.save()` would, for the admin's change message."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for inline in formset.deleted_forms:
        if not inline.instance._state.adding:
            delete(inline.instance)
            formset.deleted_objects.append(inline.instance)
    for inline in formset.forms:
        if inline in formset.deleted_forms or not inline.has_changed():
            continue
        if inline.instance._state.adding:
            data = {name: inline.cleaned_data[name] for name in fields}
            formset.new_objects.append(save(None, data))
        else:
            stored = stored_rows(type(inline.instance)).get(pk=inline.instance.pk)
            saved = save(stored, form_changes(inline, fields))
            formset.changed_objects.append((saved, inline.changed_data))


class CRMInline(
    LocalDateTimeMixin,
    VersionedRowsInlineMixin,
    CurrentChoicesInlineMixin,
    FieldBoundsMixin,
    admin.TabularInline,
):
    """An inline under the permission service, like its admin, its rows versioned."""

    extra = 0

    def get_queryset(self, request):
        return access.visible(request.user, Action.READ, super().get_queryset(request))

    def _can(self, request, action: str) -> bool:
        return access.can(request.user, action, self.model.rbac_resource)

    def has_view_permission(self, request, obj=None):
        return self._can(request, Action.READ)

    def has_add_permission(self, request, obj=None):
        return self._can(request, Action.CREATE)

    def has_change_permission(self, request, obj=None):
        return self._can(request, Action.UPDATE)

    def has_delete_permission(self, request, obj=None):
        return self._can(request, Action.DELETE)


# --- pipelines ------------------------------------------------------------------------


class StageForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_won") and cleaned.get("is_lost"):
            self.add_error("is_lost", "A stage is won or lost, not both.")
        return cleaned


class StageInline(CRMInline):
    model = PipelineStage
    form = StageForm
    fields = ["position", "name", "probability", "is_won", "is_lost"]
    field_bounds = {"probability": bounds.PERCENT}
    ordering = ["position"]


@admin.register(Pipeline)
class PipelineAdmin(CRMAdmin):
    list_display = ["name", "is_default", "board_link", "created_at"]
    search_fields = ["name"]
    fields = ["name", "description", "is_default"]

    def get_inlines(self, request, obj):
        # A new pipeline starts with the standard stages; edit them once it exists.
        return [StageInline] if obj is not None else []

    @admin.display(description="Board")
    def board_link(self, obj):
        return format_html(
            '<a href="{}">Open the board</a>', reverse("admin:crm_pipeline_board", args=[obj.pk])
        )

    def lock_before_saving(self, request, object_id) -> None:
        # The page's version checks lock the pipeline, then the stages it changes, and
        # the services lock them again: all of them first, in their one order.
        pipeline = self.get_object(request, object_id)
        if pipeline is not None:
            lock_pipeline(pipeline.pk)

    def save_model(self, request, obj, form, change):
        data = form_changes(form, ["name", "description", "is_default"])
        if change:
            adopt(obj, services.pipeline_update(pipeline=obj, acting_user=request.user, **data))
        else:
            adopt(obj, services.pipeline_create(acting_user=request.user, **form.cleaned_data))

    def save_formset(self, request, form, formset, change):
        if formset.model is not PipelineStage:
            return super().save_formset(request, form, formset, change)

        def save(stage, data):
            if stage is None:
                data["pipeline"] = form.instance
            return services.stage_save(stage=stage, acting_user=request.user, **data)

        save_inline_rows(
            formset,
            StageInline.fields,
            save=save,
            delete=lambda stage: services.stage_delete(stage=stage, acting_user=request.user),
        )

    def delete_model(self, request, obj):
        services.pipeline_delete(pipeline=obj, acting_user=request.user)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<uuid:object_id>/board/", view(self.board_view), name="crm_pipeline_board"),
            path(
                "<uuid:object_id>/board/move/",
                view(self.board_move_view),
                name="crm_pipeline_board_move",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        tools = [(reverse("admin:crm_salesdashboard_changelist"), "Sales dashboard")]
        default = Pipeline.objects.filter(is_default=True).first()
        if default is not None:
            tools.insert(0, (reverse("admin:crm_pipeline_board", args=[default.pk]), "Board"))
        return super().changelist_view(request, {**(extra_context or {}), "admin_tools": tools})

    def board_view(self, request, object_id):
        return admin_board.board_view(request, self, object_id)

    def board_move_view(self, request, object_id):
        return admin_board.move_view(request, self, object_id)


# --- opportunities --------------------------------------------------------------------


class LinkedRecordsInline(CRMInline):
    """The records drawn from this one, listed to be opened: they are made and changed by
    their own steps and pages, not here. Each row's link says what its page lets the user
    do with that record ("Change", or "View" for one its page keeps as it is, such as a
    signed contract): Django's change link names the inline's permission, the same for
    every row."""

    show_change_link = False
    can_delete = False

    def get_formset(self, request, obj=None, **kwargs):
        self.request = request  # inline instances are made for each request
        return super().get_formset(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return [*super().get_fields(request, obj), "record_link"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "record_link"]

    @admin.display(description="")
    def record_link(self, obj):
        if obj is None or obj.pk is None:
            return ""
        record_admin = self.admin_site.get_model_admin(self.model)
        changeable = record_admin.has_change_permission(self.request, obj)
        return format_html(
            '<a href="{}" class="{}">{}</a>',
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk]),
            "inlinechangelink" if changeable else "inlineviewlink",
            gettext("Change") if changeable else gettext("View"),
        )

    def has_add_permission(self, request, obj=None):
        return False


class ProposalInline(LinkedRecordsInline):
    model = Proposal
    fields = ["number", "title", "status", "currency", "total", "valid_until"]
    readonly_fields = fields


class ContractInline(LinkedRecordsInline):
    """A deal's or a proposal's contract (drawn when the proposal is accepted)."""

    model = Contract
    fields = ["number", "title", "status", "currency", "value", "signed_at"]
    readonly_fields = fields


class TaskInline(CRMInline):
    model = Task
    fk_name = "opportunity"
    fields = ["title", "type", "priority", "status", "due_at", "assigned_to"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assigned_to":
            kwargs["queryset"] = access.assignable_users(
                request.user, Action.UPDATE, Resource.TASKS
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


CONVERTIBLE_LEADS_ONLY = (
    "Choose one of the qualified leads offered: those your role lets you change (a lead"
    " shared with you is converted by those whose role reaches it)."
)


class ConvertLeadForm(forms.Form):
    lead = forms.ModelChoiceField(
        queryset=Lead.objects.none(),
        help_text="Qualified leads only.",
        error_messages={"invalid_choice": CONVERTIBLE_LEADS_ONLY},
    )
    name = forms.CharField(max_length=200, required=False)
    value = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, initial=0)
    currency = forms.CharField(max_length=3, required=False)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    expected_close_date = forms.DateField(required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        qualified = Lead.objects.filter(status=LeadStatus.QUALIFIED).select_related("company")
        # The leads the user's role may change: converting takes the lead's sale, which
        # stays with its owner's side (not a colleague it is shared with: ADR 0041).
        self.fields["lead"].queryset = access.visible(
            user, Action.UPDATE, qualified, with_grants=False
        )
        self.fields["owner"].queryset = access.assignable_users(
            user, Action.CREATE, Resource.OPPORTUNITIES
        )
        self.fields["owner"].initial = user.pk


# The hidden field of a deal's row in the list, naming the stage the list showed it in.
SEEN_STAGE_FIELD = "_stage_seen_"


@admin.register(Opportunity)
class OpportunityAdmin(
    AttachmentsAdminMixin,
    SharesAdminMixin,
    ErasedRowStepsMixin,
    StepsAdminMixin,
    PhoneSearchMixin,
    CRMAdmin,
):
    assignee_field = "owner"
    list_display = [
        "name",
        "lead",
        "stage_seen",
        "status",
        "value",
        "currency",
        "probability",
        "weighted_value",
        "owner",
        "expected_close_date",
    ]
    list_filter = ["status", "pipeline", "stage", ("owner", ScopedOwnerFilter)]
    list_select_related = ["lead__company", "stage", "owner"]
    # The lead's company name as the deal keeps it (ADR 0038, `get_search_results`).
    search_fields = ["name", "listed_lead_name"]
    ordering = ["-weighted_value"]
    fields = [
        "name",
        "lead",
        "pipeline",
        "stage",
        "status",
        "value",
        "currency",
        "probability",
        "weighted_value",
        "owner",
        "expected_close_date",
        "lost_reason",
        "closed_at",
    ]
    readonly_fields = [
        "lead",
        "pipeline",
        "stage",
        "status",
        "weighted_value",
        "lost_reason",
        "closed_at",
    ]
    inlines = [ProposalInline, ContractInline, TaskInline]
    steps = admin_steps.OPPORTUNITY_STEPS
    actions = [*CRMAdmin.actions, "move_to_next_stage"]
    editable_fields = ["name", "value", "currency", "probability", "owner", "expected_close_date"]

    def phone_matches(self, phones):
        # A deal has no number of its own: a caller's is its lead's or its company's.
        return of_leads_with(phones)

    def get_search_results(self, request, queryset, search_term):
        """Django's search (every word in the name or the lead's company name), the
        company name read from the deal's own column, which the database keeps (ADR
        0038): joined, the search read every deal's lead and company (23-28 ms against
        4 for an organization's admin at 100k leads, bench/README.md)."""
        kept = listing.KeptColumn("listed_lead_name", models.TextField())
        return super().get_search_results(
            request, queryset.alias(listed_lead_name=kept), search_term
        )

    def has_add_permission(self, request):
        # Opportunities are converted from qualified leads (the "Convert a lead" page).
        return False

    field_bounds = {"value": bounds.NOT_NEGATIVE, "probability": bounds.PERCENT}

    def save_model(self, request, obj, form, change):
        data = form_changes(form, self.editable_fields)
        adopt(obj, services.opportunity_update(opportunity=obj, acting_user=request.user, **data))

    def save_formset(self, request, form, formset, change):
        if formset.model is not Task:
            return super().save_formset(request, form, formset, change)

        def save(task, data):
            if task is None:
                return services.task_create(
                    acting_user=request.user, opportunity=form.instance, **data
                )
            return services.task_update(task=task, acting_user=request.user, **data)

        save_inline_rows(
            formset,
            TaskInline.fields,
            save=save,
            delete=lambda task: services.task_delete(task=task, acting_user=request.user),
        )

    @admin.display(description="stage", ordering="stage")
    def stage_seen(self, obj):
        """The deal's stage, and the same in a hidden field of the list's form: a move to
        the next stage is decided on the stage the list showed (`move_to_next_stage`)."""
        return format_html(
            '{}<input type="hidden" name="{}{}" value="{}">',
            obj.stage,
            SEEN_STAGE_FIELD,
            obj.pk,
            obj.stage_id,
        )

    @admin.action(description="Move to the next stage", permissions=["change"])
    def move_to_next_stage(self, request, queryset):
        """Each deal into the stage after the one the list showed it in: one moved since
        (by someone clicking at the same moment) is not moved again, and the list says
        where it is now. Selected beyond the page, from the stage it is in."""

        def step(opportunity):
            services.opportunity_move_to_next_stage(
                opportunity=opportunity,
                acting_user=request.user,
                seen_stage_id=request.POST.get(f"{SEEN_STAGE_FIELD}{opportunity.pk}"),
            )

        self.run_step(request, queryset, step, "Moved")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("convert/", view(self.convert_view), name="crm_opportunity_convert"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        tools = [(reverse("admin:crm_salesdashboard_changelist"), "Sales dashboard")]
        if access.can(request.user, Action.CREATE, Resource.OPPORTUNITIES):
            tools.insert(0, (reverse("admin:crm_opportunity_convert"), "Convert a lead"))
        return super().changelist_view(request, {**(extra_context or {}), "admin_tools": tools})

    def convert_view(self, request):
        if not access.can(request.user, Action.CREATE, Resource.OPPORTUNITIES):
            raise PermissionDenied
        # Opened from a lead's page, the form starts on that lead.
        initial = {"lead": request.GET.get("lead")}
        form_class = admin_submissions.submitted_once(ConvertLeadForm)
        form = form_class(request.POST or None, user=request.user, initial=initial)
        if request.method == "POST":
            # Before the form's checks: the repeat of a conversion (a double click) is
            # answered as the conversion, not refused as a lead with an opportunity.
            try:
                admin_submissions.claim(request)
            except admin_submissions.Repeated as repeat:
                return admin_submissions.replayed(request, repeat.answer)
        if request.method == "POST" and form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            opportunity, refusal = attempt(
                lambda: services.lead_convert(acting_user=request.user, **data)
            )
            if refusal is None:
                return admin_submissions.redirected(
                    request,
                    reverse("admin:crm_opportunity_change", args=[opportunity.pk]),
                    f"Opportunity “{opportunity}” created.",
                )
            add_refusal(form, refusal)
        admin_submissions.release_unanswered(request)
        context = {
            **self.admin_site.each_context(request),
            "title": "Convert a qualified lead into an opportunity",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "crm/admin/convert.html", context)


@admin.register(SalesDashboard)
class SalesDashboardAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """The dashboard (`crm.admin_dashboard`): totals, value by month, pipeline funnel, lead
    sources and AI call outcomes, for whoever may read opportunities (each chart within
    their scope)."""

    def changelist_view(self, request, extra_context=None):
        return dashboard_view(self, request)


# --- proposals ------------------------------------------------------------------------


PRICED_FIELDS = ("quantity", "unit_price", "discount_percent", "tax_rate")


class LineItemForm(forms.ModelForm):
    """A line checked by the pricing rules, each problem on its field in words, before
    the database's check constraints would refuse it by their names."""

    def clean(self):
        cleaned = super().clean()
        numbers = {name: cleaned.get(name) for name in PRICED_FIELDS}
        if None in numbers.values():
            return cleaned  # a missing or malformed number has its own error already
        line = pricing.LineInput(description=cleaned.get("description") or "", **numbers)
        for name, problem in pricing.line_problems(line).items():
            if name not in self.errors:
                self.add_error(name, problem)
        return cleaned


class LineItemInline(CRMInline):
    model = ProposalLineItem
    form = LineItemForm
    fields = list(services.LINE_FIELDS)
    readonly_fields = ["subtotal", "discount_amount", "tax_amount", "total"]
    ordering = ["position"]

    def _draft(self, obj) -> bool:
        return obj is None or obj.status == ProposalStatus.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


class ProposalForm(forms.ModelForm):
    # Blank, not the model's default (EUR): a proposal is in its opportunity's currency.
    currency = admin_forms.CurrencyField(
        required=False, help_text="Leave blank for the opportunity's currency."
    )

    class Meta:
        model = Proposal
        fields = ["opportunity", "title", "currency", "valid_until", "notes"]

    def clean(self):
        cleaned = super().clean()
        opportunity = cleaned.get("opportunity")
        if opportunity is not None and self.instance._state.adding:
            try:
                services.proposal_check_opportunity(
                    opportunity=opportunity, currency=cleaned.get("currency", "")
                )
            except REFUSALS as exc:
                add_refusal(self, exc)
        return cleaned


@admin.register(Proposal)
class ProposalAdmin(AttachmentsAdminMixin, ErasedRowStepsMixin, StepsAdminMixin, CRMAdmin):
    form = ProposalForm
    list_display = ["number", "title", "opportunity", "status", "total", "currency", "valid_until"]
    list_filter = ["status"]
    list_select_related = ["opportunity"]
    search_fields = ["number", "title", "opportunity__name"]
    inlines = [LineItemInline, ContractInline]
    steps = admin_steps.PROPOSAL_STEPS
    actions = [*CRMAdmin.actions, "send", "mark_accepted", "mark_rejected"]
    readonly_fields = [
        "number",
        "status",
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "sent_at",
        "accepted_at",
        "rejected_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "opportunity", "currency"]
        return self.readonly_fields

    def get_inlines(self, request, obj):
        # Its contract is drawn once it is accepted: none to list on the add page.
        return self.inlines if obj is not None else [LineItemInline]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "opportunity":
            # A proposal is work on its deal: the deals the user may add one to.
            field.queryset = proposal_deals(request.user, field.queryset)
        return field

    def has_change_permission(self, request, obj=None):
        # Sent proposals are documents of record: viewed, not edited.
        editable = obj is None or obj.status == ProposalStatus.DRAFT
        return editable and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            data = form_changes(form, ["title", "valid_until", "notes"])
            saved = services.proposal_update(proposal=obj, acting_user=request.user, **data)
        else:
            saved = services.proposal_create(acting_user=request.user, **form.cleaned_data)
        adopt(obj, saved)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        lines_changed = any(
            formset.new_objects or formset.changed_objects or formset.deleted_objects
            for formset in formsets
            if formset.model is ProposalLineItem
        )
        adopt(
            form.instance,
            services.proposal_reprice(
                proposal=form.instance, acting_user=request.user, lines_changed=lines_changed
            ),
        )

    def _take(self, request, queryset, name, done):
        self.run_step(request, queryset, lambda p: self.take_step(request, p, name), done)

    @admin.action(description="Send", permissions=["change"])
    def send(self, request, queryset):
        self._take(request, queryset, "send", "Sent")

    @admin.action(description="Mark accepted (drafts the contract)", permissions=["change"])
    def mark_accepted(self, request, queryset):
        self._take(request, queryset, "accept", "Accepted")

    @admin.action(description="Mark rejected", permissions=["change"])
    def mark_rejected(self, request, queryset):
        self._take(request, queryset, "reject", "Rejected")


# --- contracts ------------------------------------------------------------------------


class ContractForm(forms.ModelForm):
    def clean(self):
        # The service's rule, at the end date: the database's check constraint would
        # refuse the dates above the form, by its name.
        cleaned = super().clean()
        try:
            services.contract_dates_check(cleaned.get("start_date"), cleaned.get("end_date"))
        except ValidationError as exc:
            add_refusal(self, exc)
        return cleaned


@admin.register(Contract)
class ContractAdmin(AttachmentsAdminMixin, ErasedRowStepsMixin, StepsAdminMixin, CRMAdmin):
    form = ContractForm
    list_display = [
        "number",
        "title",
        "opportunity",
        "status",
        "value",
        "currency",
        "start_date",
        "signed_at",
    ]
    list_filter = ["status"]
    list_select_related = ["opportunity"]
    search_fields = ["number", "title", "signer_name"]
    fields = [
        "number",
        "title",
        "opportunity",
        "proposal",
        "status",
        "value",
        "currency",
        "start_date",
        "end_date",
        "terms",
        "signer_name",
        "signer_email",
        "sent_at",
        "signed_at",
    ]
    readonly_fields = [
        "number",
        "opportunity",
        "proposal",
        "status",
        "value",
        "currency",
        "sent_at",
        "signed_at",
    ]
    actions = [*CRMAdmin.actions, "send", "sign", "activate", "terminate"]
    steps = admin_steps.CONTRACT_STEPS
    editable_fields = ["title", "start_date", "end_date", "terms", "signer_name", "signer_email"]

    def has_add_permission(self, request):
        # Contracts are drawn from accepted proposals.
        return False

    def has_change_permission(self, request, obj=None):
        editable = obj is None or obj.status in (ContractStatus.DRAFT, ContractStatus.SENT)
        return editable and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = form_changes(form, self.editable_fields)
        adopt(obj, services.contract_update(contract=obj, acting_user=request.user, **data))

    @admin.action(description="Send", permissions=["change"])
    def send(self, request, queryset):
        self.run_step(
            request,
            queryset,
            lambda c: services.contract_send(contract=c, acting_user=request.user),
            "Sent",
        )

    @admin.action(description="Record the signature (wins the opportunity)", permissions=["change"])
    def sign(self, request, queryset):
        self.run_step(
            request,
            queryset,
            lambda c: services.contract_sign(
                contract=c,
                signer_name=c.signer_name,
                signer_email=c.signer_email,
                acting_user=request.user,
            ),
            "Signed",
        )

    @admin.action(description="Activate", permissions=["change"])
    def activate(self, request, queryset):
        self._set_status(request, queryset, ContractStatus.ACTIVE, "Activated")

    @admin.action(description="Terminate", permissions=["change"])
    def terminate(self, request, queryset):
        self._set_status(request, queryset, ContractStatus.TERMINATED, "Terminated")

    def _set_status(self, request, queryset, status, done):
        self.run_step(
            request,
            queryset,
            lambda c: services.contract_set_status(
                contract=c, status=status, acting_user=request.user
            ),
            done,
        )


# --- campaigns and calls --------------------------------------------------------------


class CampaignForm(KeepsJSONOriginalsMixin, forms.ModelForm):
    lead_filter = admin_forms.lead_filter_field()
    calling_days = admin_forms.calling_days_field()

    class Meta:
        model = Campaign
        fields = sorted(services.CAMPAIGN_FIELDS)

    class Media:
        js = ["crm/lead_filter_count.js"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        admin_forms.with_live_count(self)

    def clean_lead_filter(self):
        value = self.cleaned_data.get("lead_filter") or {}
        try:
            return services.validate_lead_filter(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc

    def clean(self):
        cleaned = super().clean()
        current = {name: cleaned.get(name) for name in bounds.CAMPAIGN_SCHEDULE_FIELDS}
        for name, problem in bounds.campaign_schedule_problems(**current).items():
            if name not in self.errors:
                self.add_error(name, problem)
        return cleaned


WEBHOOK_SECRET_PAGE = SecretPage(
    title="AI call webhook secret",
    sender="The AI call provider",
    webhook_path="/api/v1/webhooks/ai-calls/",
    resource=Resource.CAMPAIGNS,
    model=AICallWebhookSecret,
    rotate=services.webhook_secret_rotate,
    without="campaigns cannot be launched until one is created.",
    back=("admin:crm_campaign_changelist", "Campaigns"),
    url_path="webhook-secret/",
    url_name="crm_campaign_webhook_secret",
    link="Webhook secret",
)


@admin.register(Campaign)
class CampaignAdmin(SecretPageAdminMixin, CRMAdmin):
    secret_page = WEBHOOK_SECRET_PAGE
    form = CampaignForm
    list_display = ["name", "status", "timezone", "launched_at", "completed_at", "calls_link"]
    list_filter = ["status"]
    search_fields = ["name"]
    readonly_fields = ["status", "launched_at", "paused_at", "completed_at", "results"]
    fieldsets = admin_forms.CAMPAIGN_FIELDSETS
    field_bounds = bounds.CAMPAIGN
    actions = [*CRMAdmin.actions, "launch", "pause", "cancel"]

    def has_change_permission(self, request, obj=None):
        # A completed or cancelled campaign is a record: its page is read-only.
        return not (obj is not None and obj.is_final) and super().has_change_permission(
            request, obj
        )

    def save_model(self, request, obj, form, change):
        data = form_changes(form, services.CAMPAIGN_FIELDS) if change else form.cleaned_data
        adopt(
            obj,
            services.campaign_save(
                campaign=obj if change else None, acting_user=request.user, **data
            ),
        )

    @admin.display(description="Calls")
    def calls_link(self, obj):
        url = reverse("admin:crm_aicall_changelist") + f"?campaign__id__exact={obj.pk}"
        return format_html('<a href="{}">Calls</a>', url)

    @admin.display(description="Results")
    def results(self, obj):
        if obj.pk is None:
            return "—"
        # The calls the user may see, counted as the API's statistics count them: the
        # campaign is the whole organization's, each call its lead owner's.
        outcomes = selectors.campaign_call_outcomes(user=acting_user(), campaign=obj)
        parts = [f"{r['status']}: {r['count']}" for r in outcomes["by_status"]]
        parts += [f"{r['outcome']}: {r['count']}" for r in outcomes["by_outcome"]]
        return ", ".join(parts) or "No calls yet."

    def _step(self, request, queryset, service, done):
        self.run_step(
            request, queryset, lambda c: service(campaign=c, acting_user=request.user), done
        )

    @admin.action(description="Launch or resume", permissions=["change"])
    def launch(self, request, queryset):
        self._step(request, queryset, services.campaign_launch, "Launched")

    @admin.action(description="Pause", permissions=["change"])
    def pause(self, request, queryset):
        self._step(request, queryset, services.campaign_pause, "Paused")

    @admin.action(description="Cancel", permissions=["change"])
    def cancel(self, request, queryset):
        self._step(request, queryset, services.campaign_cancel, "Cancelled")

    def get_urls(self):
        return [
            path(
                "lead-count/",
                self.admin_site.admin_view(admin_forms.lead_count_view),
                name="crm_campaign_lead_count",
            ),
            *super().get_urls(),
        ]


@admin.register(AICall)
class AICallAdmin(ByLeadSearchMixin, CRMAdmin):
    list_display = [
        "__str__",
        "campaign",
        "lead",
        "status",
        "outcome",
        "sentiment",
        "duration_seconds",
        "cost",
        "started_at",
    ]
    list_filter = ["status", "outcome", "sentiment", "campaign"]
    list_select_related = ["campaign", "lead__company"]
    # Matched by `word_matches`: the call's id or summary, or its lead (ADR 0056).
    search_fields = ["provider_call_id", "lead__company__name", "summary"]
    search_help_text = "The call's id or summary, or the lead's name, company, email or phone."
    actions: list = []

    def own_matches(self, word):
        return models.Q(provider_call_id__icontains=word) | models.Q(summary__icontains=word)

    exclude = ["analysis"]
    readonly_fields = ["analysis_view"]

    @admin.display(description="AI analysis")
    def analysis_view(self, obj):
        return json_object_html(obj.analysis)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Call records are what the provider reported: read-only.
        return False


# --- tasks ----------------------------------------------------------------------------


class DueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("today", "Due today"), (DUE_BY_TODAY, "Today or overdue")]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.overdue()
        if self.value() == DUE_BY_TODAY:
            return queryset.due_by_end_of_today()
        if self.value() == "today":
            return queryset.due_today()
        return queryset


@admin.register(Task)
class TaskAdmin(NamedToReadersMixin, ErasedRowStepsMixin, StepsAdminMixin, CRMAdmin):
    assignee_field = "assigned_to"
    # A task is its assignee's, its lead and deal their owners': a task on a colleague's
    # lead (given by a manager, or kept when the lead went to them) names neither.
    named_to_readers = ("lead", "opportunity")
    steps = admin_steps.TASK_STEPS
    list_display = ["title", "type", "priority", "status", "due_at", "assigned_to", "lead"]
    list_filter = [
        DueFilter,
        "status",
        "type",
        "priority",
        ("assigned_to", ScopedOwnerFilter),
    ]
    list_select_related = ["assigned_to", "lead__company"]
    search_fields = ["title", "description"]
    ordering = ["due_at"]
    raw_id_fields = ["lead", "opportunity"]
    # A task is work on its record (`task_create`): for whoever may change it.
    attached_to = {
        "lead": (Action.UPDATE, Resource.LEADS),
        "opportunity": (Action.UPDATE, Resource.OPPORTUNITIES),
    }
    fields = [
        "title",
        "description",
        "type",
        "priority",
        "status",
        "due_at",
        "assigned_to",
        "lead",
        "opportunity",
        "completed_at",
    ]
    readonly_fields = ["completed_at"]
    actions = [*CRMAdmin.actions, "mark_done"]

    def save_model(self, request, obj, form, change):
        if change:
            saved = services.task_update(
                task=obj, acting_user=request.user, **form_changes(form, services.TASK_FIELDS)
            )
        else:
            saved = services.task_create(acting_user=request.user, **form.cleaned_data)
        adopt(obj, saved)

    @admin.action(description="Mark done", permissions=["change"])
    def mark_done(self, request, queryset):
        self.run_step(
            request,
            queryset.filter(status__in=[TaskStatus.OPEN, TaskStatus.IN_PROGRESS]),
            lambda t: services.task_complete(task=t, acting_user=request.user),
            "Done",
        )
