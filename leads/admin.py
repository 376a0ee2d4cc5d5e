"""Back office of lead generation: companies, leads (with their timeline, tags and score
breakdown), interactions, enrichments and tags of the current organization.

Writes go through `leads.services` (permission-checked, validated, history kept); the
forms run the same checks first, so a refused change is a form error. Bulk actions work
on the rows the user may change and report the others. Foreign-key choices and list
filters offer only the current organization's rows.
"""

from __future__ import annotations

import io
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from attachments.admin import AttachmentsAdminMixin
from compliance.erased import lock_company_leads
from leads import (
    admin_duplicates,
    admin_forms,
    admin_hub,
    admin_import,
    csv_io,
    duplicate_notice,
    search,
    selectors,
    services,
    status_notes,
)
from leads.admin_hub import LeadHubMixin
from leads.admin_search import ByLeadSearchMixin, CompanySearchMixin, LeadSearchMixin
from leads.choices import LeadStatus, WebsiteStatus
from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag, Tag
from leads.normalize import normalize_email, normalize_phone
from sharing.admin import SharesAdminMixin
from smartweb import access
from smartweb.admin import (
    CurrentChoicesInlineMixin,
    DeletedListFilter,
    IndexedValuesFilter,
    ReadOnlyAdminMixin,
    TenantOwnedModelAdmin,
    add_refusal,
    adopt,
    is_deleted,
    owners_offered,
    unowned_offered,
)
from smartweb.admin_counts import CappedCountMixin
from smartweb.admin_versions import VersionedRowsInlineMixin
from smartweb.errors import REFUSALS, refusal_message
from smartweb.forms import form_changes
from smartweb.json_widgets import KeepsJSONOriginalsMixin
from smartweb.rbac import Action, Resource, Scope

ACTION_TEMPLATE = "admin/leads/action_form.html"


def members():
    """Active members of the current organization: the only users one may assign."""
    return selectors.organization_members().order_by("email")


class LeadsAdmin(TenantOwnedModelAdmin):
    """History is shown but not reverted around the services."""

    def revert_disabled(self, request, obj=None):
        return True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in ("assigned_to", "created_by"):
            kwargs["queryset"] = members()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.request = request
        return form


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A read-only list of a lead's rows, under the lead's own permissions."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, Action.READ, Resource.LEADS, obj=obj)

    def get_formset(self, request, obj=None, **kwargs):
        # Each row opens on its own page, in the lead's scope: not for a colleague the
        # lead is shared with (a share is of the lead alone), whom it would answer 404.
        self.show_change_link = obj is not None and access.can(
            request.user, Action.READ, Resource.LEADS, obj=obj, with_grants=False
        )
        return super().get_formset(request, obj, **kwargs)


class EnrichmentInline(ReadOnlyInline):
    model = LeadEnrichment
    fields = ["provider", "fetched_at", "confidence", "data"]
    readonly_fields = fields


class LeadTagInline(VersionedRowsInlineMixin, CurrentChoicesInlineMixin, admin.TabularInline):
    """Tag editing on the lead (each link and unlink is kept in history)."""

    model = LeadTag
    extra = 1
    autocomplete_fields = ["tag"]
    verbose_name = "tag"
    verbose_name_plural = "tags"

    def _lead_permission(self, request, obj, action=Action.UPDATE):
        return access.can(request.user, action, Resource.LEADS, obj=obj)

    def has_view_permission(self, request, obj=None):
        return self._lead_permission(request, obj, Action.READ)

    def has_add_permission(self, request, obj=None):
        return obj is not None and self._lead_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and self._lead_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and self._lead_permission(request, obj)


class ScoreBandFilter(admin.SimpleListFilter):
    title = "score"
    parameter_name = "score"
    BANDS = {"hot": (70, 100), "warm": (40, 69), "cold": (0, 39)}

    def lookups(self, request, model_admin):
        return [(key, f"{key.title()} ({low}–{high})") for key, (low, high) in self.BANDS.items()]

    def queryset(self, request, queryset):
        if self.value() in self.BANDS:
            low, high = self.BANDS[self.value()]
            return queryset.filter(lead_score__gte=low, lead_score__lte=high)
        return queryset


class WebsiteStatusFilter(admin.SimpleListFilter):
    title = "website"
    parameter_name = "website_status"

    def lookups(self, request, model_admin):
        return WebsiteStatus.choices

    def queryset(self, request, queryset):
        if self.value() in WebsiteStatus.values:
            return queryset.filter(online_presence__website_status=self.value())
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    """The people whose leads the user may read, as the deal and task lists' owner filters
    offer them (`owners_offered`): a rep themselves, a manager their team. "Unassigned"
    only to whoever reads every lead: a lead assigned to no one is in no one's scope."""

    title = "assigned to"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        offered = unowned_offered(request.user, Resource.LEADS)
        unassigned = [("none", "Unassigned")] if offered else []
        people = owners_offered(request.user, Resource.LEADS)
        return [*unassigned, *((str(pk), label) for pk, label in people)]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(assigned_to__isnull=True)
        if self.value():
            return queryset.filter(assigned_to_id=self.value())
        return queryset


# --- companies ---------------------------------------------------------------------


class CompanyAdminForm(KeepsJSONOriginalsMixin, forms.ModelForm):
    website = forms.URLField(max_length=300, required=False, assume_scheme="https")
    allow_duplicate = admin_duplicates.allow_duplicate_field()
    online_presence = admin_forms.online_presence_field()

    class Meta:
        model = Company
        fields = sorted(services.COMPANY_FIELDS - {"customer_since"})

    def clean(self):
        cleaned = super().clean()
        try:
            services.clean_online_presence(cleaned.get("online_presence"))
        except ValidationError as exc:
            self.add_error("online_presence", exc)
        admin_duplicates.refuse_duplicate_company(self, cleaned)
        return cleaned


@admin.register(Company)
class CompanyAdmin(AttachmentsAdminMixin, CompanySearchMixin, LeadsAdmin):
    form = CompanyAdminForm
    list_display = ["name", "business_type", "city", "phone", "website_link", "is_customer"]
    list_filter = [
        "business_type",
        "size",
        WebsiteStatusFilter,
        "is_customer",
        ("country", IndexedValuesFilter),  # company_org_country
    ]
    search_fields = ["name", "city", "postal_code", "phone", "email", "website_domain"]
    readonly_fields = ["customer_since", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "business_type", "size"]}),
        ("Contact", {"fields": ["phone", "email", "website"]}),
        (
            "Address",
            {
                "fields": [
                    "address_line1",
                    "address_line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                ]
            },
        ),
        ("Online presence", {"fields": ["online_presence"]}),
        ("Notes", {"fields": ["metadata"]}),
        ("Customer", {"fields": ["is_customer", "customer_since"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        (title, options), *rest = fieldsets
        first = {**options, "fields": [*options["fields"], admin_duplicates.ALLOW_FIELD]}
        return [(title, first), *rest]

    def base_queryset(self):
        return Company.all_objects.defer("search_vector")

    @admin.display(description="website", ordering="website_domain")
    def website_link(self, obj):
        return (
            format_html('<a href="{}">{}</a>', obj.website, obj.website_domain)
            if obj.website
            else ""
        )

    def lock_before_saving(self, request, object_id) -> None:
        # The page's version check locks the company, and its save its leads: the leads
        # first, as a note's re-score and the API's edit take them (ADR 0012).
        company = self.get_object(request, object_id)
        if company is not None:
            lock_company_leads(company)

    def save_model(self, request, obj, form, change):
        data = form_changes(form, services.COMPANY_FIELDS)
        if change:
            saved = services.company_update(company=obj, acting_user=request.user, data=data)
            adopt(obj, saved)
        else:
            adopt(obj, services.company_create(acting_user=request.user, data=data))

    def delete_model(self, request, obj):
        services.company_delete(company=obj, acting_user=request.user)


# --- leads -------------------------------------------------------------------------


class LeadAdminForm(forms.ModelForm):
    allow_duplicate = forms.BooleanField(
        required=False,
        help_text="Create the lead even though it matches existing ones (phone, email, website).",
    )

    class Meta:
        model = Lead
        fields = ["company", *sorted(services.LEAD_FIELDS)]
        # A company the user may not read is not among the choices (`readable_choices`):
        # refused in the service's words, which tell nothing of whether it exists.
        error_messages = {"company": {"invalid_choice": services.UNKNOWN_COMPANY}}

    def clean(self):
        cleaned = super().clean()
        user = self.request.user
        action = Action.UPDATE if self.instance.pk and not self.instance._state.adding else None
        if "assigned_to" in self.changed_data:
            try:
                services.check_assignee(user, cleaned.get("assigned_to"), action or Action.CREATE)
            except ValidationError as exc:
                add_refusal(self, exc)
        company = cleaned.get("company")
        if action is None and company is not None and not cleaned.get("allow_duplicate"):
            self._refuse_duplicates(company, cleaned)
        return cleaned

    def _refuse_duplicates(self, company: Company, cleaned: dict) -> None:
        keys = selectors.keys_of(Lead(company=company))
        for kind, value in (
            ("phone", _quiet(normalize_phone, cleaned.get("contact_phone"))),
            ("email", _quiet(normalize_email, cleaned.get("contact_email"))),
        ):
            if value:
                keys[kind].add(value)
        found = [d for d in selectors.duplicates_of(keys=keys) if d.lead.company_id != company.pk]
        if found:
            told = duplicate_notice.notices(
                self.request.user, [(d.lead, d.matched_on) for d in found[:5]]
            )
            self.add_error(
                None,
                f"Possible duplicate of: {duplicate_notice.listed(told)}."
                " Tick 'allow duplicate' to go on.",
            )


def _quiet(normalize, value):
    try:
        return normalize(value or "")
    except ValidationError:
        return ""


class TagChoiceForm(forms.Form):
    tag = forms.ModelChoiceField(queryset=Tag.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.all()


class AssignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Unassigned", label="Assign to"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Whom the user may assign leads to (`services.check_assignee` refuses the rest).
        self.fields["assigned_to"].queryset = access.assignable_users(
            user, Action.UPDATE, Resource.LEADS
        )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=LeadStatus.choices)
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


@admin.register(Lead)
class LeadAdmin(AttachmentsAdminMixin, SharesAdminMixin, LeadHubMixin, LeadSearchMixin, LeadsAdmin):
    form = LeadAdminForm
    assignee_field = "assigned_to"
    list_display = [
        "name",
        "status",
        "lead_score",
        "assigned_to",
        "tag_list",
        "last_contacted_at",
        "next_follow_up_at",
    ]
    list_filter = [
        "status",
        ScoreBandFilter,
        "source",
        "company__business_type",
        AssigneeFilter,
        # The organization's tags: Django's related-only filter read every lead's tags to
        # offer those in use, the whole organization's at each page load.
        "tags",
        "do_not_contact",
    ]
    list_select_related = ["company", "assigned_to"]
    search_fields = [
        "company__name",
        "contact_name",
        "contact_email",
        "contact_phone",
        "company__phone",
        "company__email",
        "company__website_domain",
    ]
    autocomplete_fields = ["company"]
    readonly_fields = [
        "status",
        "lead_score",
        "score_table",
        "scored_at",
        "status_changed_at",
        "last_contacted_at",
        "consent_updated_at",
        "merged_into",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["company", "allow_duplicate", "status", "source", "assigned_to"]}),
        (
            "Contact",
            {"fields": ["contact_name", "contact_title", "contact_email", "contact_phone"]},
        ),
        (
            "Score",
            {"fields": ["lead_score", "score_override", "score_table", "scored_at"]},
        ),
        (
            "Follow-up and consent",
            {
                "fields": [
                    "last_contacted_at",
                    "next_follow_up_at",
                    "consent_to_contact",
                    "consent_updated_at",
                    "do_not_contact",
                ]
            },
        ),
        (None, {"fields": ["notes", "status_changed_at", "merged_into", "created_at"]}),
    ]
    # The interactions are on the page's timeline (admin_hub), with everything else.
    inlines = [LeadTagInline, EnrichmentInline]
    actions = [
        "restore_selected",
        "assign_selected",
        "tag_selected",
        "change_status_selected",
        "rescore_selected",
        "export_csv",
    ]
    change_list_template = "admin/leads/lead/change_list.html"

    def base_queryset(self):
        return Lead.all_objects.defer("search_vector", "company__search_vector")

    def get_queryset(self, request):
        # As a list on each lead: a prefetch into each lead's related manager built a
        # queryset per lead (a sixth of a 100-row list).
        tags = models.Prefetch("tags", to_attr="tags_listed")
        return super().get_queryset(request).prefetch_related(tags)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "company"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        first = [f for f in fieldsets[0][1]["fields"] if f != "allow_duplicate"]
        return [(None, {"fields": first}), *fieldsets[1:]]

    # Sorted by the company, the name lists give a lead (and an API ordering, so a saved
    # view keeps it).
    @admin.display(description="lead", ordering="company__name")
    def name(self, obj):
        return str(obj)

    @admin.display(description="tags")
    def tag_list(self, obj):
        return ", ".join(tag.name for tag in obj.tags_listed)

    @admin.display(description="breakdown")
    def score_table(self, obj):
        return admin_hub.score_table(obj)

    def save_model(self, request, obj, form, change):
        data = form_changes(form, services.LEAD_FIELDS)
        if change:
            adopt(obj, services.lead_update(lead=obj, acting_user=request.user, data=data))
        else:
            lead = services.lead_create(
                acting_user=request.user,
                data=data,
                company=form.cleaned_data["company"],
                allow_duplicate=True,
            )
            adopt(obj, lead)

    def save_formset(self, request, form, formset, change):
        if formset.model is not LeadTag:
            return super().save_formset(request, form, formset, change)
        # The tags the form leaves, set through the service as the API sets them: the
        # lead's version moves when they change, and a tag linked meanwhile is kept once.
        formset.save(commit=False)  # what changed, for the change message; writes nothing
        links = {
            link.pk: link.tag for link in LeadTag.objects.filter(lead=form.instance)
        }  # a link the form does not show is kept, as the formset would keep it
        for inline in formset.forms:
            link = inline.instance
            if inline in formset.deleted_forms:
                links.pop(link.pk, None)
            elif link.tag_id is not None:
                links[link.pk] = link.tag
        tags = list(links.values())
        services.lead_set_tags(lead=form.instance, tags=tags, acting_user=request.user)

    def delete_model(self, request, obj):
        services.lead_delete(lead=obj, acting_user=request.user)

    # Bulk actions: each goes through a service that checks every lead.

    def _intermediate(self, request, queryset, form, title, action):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "queryset": queryset,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, ACTION_TEMPLATE, context)

    @admin.action(description="Assign selected leads", permissions=["change"])
    def assign_selected(self, request, queryset):
        form = AssignForm(request.POST if "apply" in request.POST else None, user=request.user)
        if not form.is_valid():
            return self._intermediate(request, queryset, form, "Assign leads", "assign_selected")
        leads = self.permitted_rows(request, queryset, Action.UPDATE)
        if not leads.exists():
            return None
        self._all_or_none(
            request,
            lambda: services.leads_assign(
                leads=leads, assignee=form.cleaned_data["assigned_to"], acting_user=request.user
            ),
            done="Assigned {} lead(s).",
        )
        return None

    @admin.action(description="Tag selected leads", permissions=["change"])
    def tag_selected(self, request, queryset):
        form = TagChoiceForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._intermediate(request, queryset, form, "Tag leads", "tag_selected")
        leads = self.permitted_rows(request, queryset, Action.UPDATE)
        if not leads.exists():
            return None
        self._all_or_none(
            request,
            lambda: services.leads_add_tag(
                leads=leads, tag=form.cleaned_data["tag"], acting_user=request.user
            ),
            done="Tagged {} lead(s).",
        )
        return None

    def _all_or_none(self, request, change, *, done: str) -> None:
        """Run a bulk change that changes every selected lead or none: its count in `done`,
        or why it changed none."""
        try:
            count = change()
        except REFUSALS as exc:
            self.message_user(request, refusal_message(exc), messages.ERROR)
        else:
            self.message_user(request, done.format(count), messages.SUCCESS)

    @admin.action(description="Change status of selected leads", permissions=["change"])
    def change_status_selected(self, request, queryset):
        form = StatusForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._intermediate(
                request, queryset, form, "Change status", "change_status_selected"
            )
        leads = self.permitted_rows(request, queryset, Action.UPDATE)
        if not leads.exists():
            return None
        changed, failed = services.leads_change_status(
            leads=leads,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
            acting_user=request.user,
        )
        self.message_user(request, f"Changed {changed} lead(s).", messages.SUCCESS)
        for name, reason in failed.items():
            self.message_user(request, f"{name}: {reason}", messages.WARNING)
        return None

    @admin.action(description="Re-score selected leads", permissions=["change"])
    def rescore_selected(self, request, queryset):
        live = queryset.filter(deleted_at__isnull=True)
        leads = self.permitted_rows(request, live, Action.UPDATE)
        if not leads.exists():
            return
        rescored = services.leads_rescore(queryset=leads, acting_user=request.user)
        self.message_user(request, f"{rescored.changed} score(s) changed.", messages.SUCCESS)
        if rescored.erased:
            self.message_user(request, rescored.erased_note(), messages.WARNING)

    @admin.action(description="Export selected leads as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        out = io.StringIO()
        csv_io.export_leads(
            queryset=queryset,
            out=out,
            acting_user=request.user,
            request=request,
            description="admin selection",
        )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"leads-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def get_urls(self):
        # The CSV import wizard (leads.admin_import).
        return [*admin_import.ImportWizard(self).urls(), *super().get_urls()]


# --- interactions, enrichments, tags -----------------------------------------------


class InteractionAdminForm(KeepsJSONOriginalsMixin, forms.ModelForm):
    ai_analysis = admin_forms.ai_analysis_field()

    class Meta:
        model = Interaction
        fields = ["lead", *sorted(services.INTERACTION_FIELDS)]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # As the list names it; sent back as shown, the field is unchanged: not written.
            self.initial["subject"] = status_notes.subject_as_read(self.instance)

    def clean_ai_analysis(self):
        return services.clean_ai_analysis(self.cleaned_data.get("ai_analysis"))


def _as_read(field: str) -> str:
    return "subject_as_read" if field == "subject" else field


@admin.register(Interaction)
class InteractionAdmin(CappedCountMixin, ByLeadSearchMixin, LeadsAdmin):
    form = InteractionAdminForm
    list_display = [
        "occurred_at",
        "type",
        "direction",
        "lead",
        "subject_as_read",
        "outcome",
        "created_by",
    ]
    list_filter = ["type", "direction", "outcome"]
    list_select_related = ["lead__company", "created_by"]
    # Millions of rows: counted up to a cap (each whole count read ~650k entries for the
    # largest organization at 1M leads), and never the organization's total beside it.
    show_full_result_count = False
    # Matched by `word_matches`: words of the subject and notes, as the API searches them
    # (a substring of millions of notes has no index to find it), or the lead's.
    search_fields = ["subject", "content", "lead__company__name", "lead__contact_name"]
    search_help_text = "Words of the subject or notes, or the lead's name, company, email or phone."
    autocomplete_fields = ["lead"]
    attached_to = {"lead": (Action.CREATE, Resource.INTERACTIONS)}  # `interaction_log`
    readonly_fields = ["created_by", "created_at"]
    date_hierarchy = "occurred_at"
    fieldsets = admin_forms.INTERACTION_FIELDSETS

    def base_queryset(self):
        return Interaction.all_objects.defer("search_vector")

    def own_matches(self, word):
        return search.interaction_matches(word)

    def walks_date_hierarchy(self, request):
        # The organization's active interactions by time (interaction_org_occurred) are the
        # rows of whoever reads them all. A rep's are read through their leads, where each
        # step of a walk would cost what Django's one read of them all costs.
        return (
            DeletedListFilter.state(request) == "active"
            and access.scope_for(request.user, Action.READ, Resource.INTERACTIONS) == Scope.ALL
        )

    @admin.display(description="subject", ordering="subject")
    def subject_as_read(self, obj):
        return status_notes.subject_as_read(obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # Drawn read-only, a model field shows its stored value: the subject as read instead.
        return [
            (name, {**options, "fields": [_as_read(f) for f in options["fields"]]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "lead"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        data = form_changes(form, services.INTERACTION_FIELDS)
        if change:
            adopt(
                obj,
                services.interaction_update(interaction=obj, acting_user=request.user, data=data),
            )
        else:
            saved = services.interaction_log(
                lead=form.cleaned_data["lead"], acting_user=request.user, data=data
            )
            adopt(obj, saved)

    def delete_model(self, request, obj):
        services.interaction_delete(interaction=obj, acting_user=request.user)


@admin.register(LeadEnrichment)
class EnrichmentAdmin(LeadsAdmin):
    list_display = ["lead", "provider", "confidence", "fetched_at"]
    list_filter = ["provider"]
    list_select_related = ["lead__company"]
    search_fields = ["provider", "lead__company__name"]
    autocomplete_fields = ["lead"]
    attached_to = {"lead": (Action.UPDATE, Resource.LEADS)}  # `enrichment_record`
    readonly_fields = ["pretty_data"]

    @admin.display(description="data (formatted)")
    def pretty_data(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True))

    def save_model(self, request, obj, form, change):
        if change:
            data = form_changes(form, services.ENRICHMENT_FIELDS)
            adopt(
                obj,
                services.enrichment_update(enrichment=obj, acting_user=request.user, data=data),
            )
        else:
            data = {name: form.cleaned_data[name] for name in services.ENRICHMENT_FIELDS}
            saved = services.enrichment_record(
                lead=form.cleaned_data["lead"], acting_user=request.user, **data
            )
            adopt(obj, saved)


@admin.register(Tag)
class TagAdmin(LeadsAdmin):
    """The organization's tag list: read by whoever reads leads, edited by managers."""

    list_display = ["name", "colour", "description", "lead_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        if not access.can(request.user, Action.READ, Resource.LEADS):
            return Tag.objects.none()
        return selectors.with_readable_lead_counts(Tag.all_objects.all(), request.user)

    def _may(self, request, action):
        return access.scope_for(request.user, action, Resource.LEADS) in (Scope.TEAM, Scope.ALL)

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, Action.READ, Resource.LEADS)

    def has_add_permission(self, request):
        return access.can(request.user, Action.CREATE, Resource.LEADS)

    # A deleted tag is shown, neither changed nor deleted again (as `LeadsAdmin` does).
    def has_change_permission(self, request, obj=None):
        return not is_deleted(obj) and self._may(request, Action.UPDATE)

    def has_delete_permission(self, request, obj=None):
        return not is_deleted(obj) and self._may(request, Action.DELETE)

    @admin.display(description="colour")
    def colour(self, obj):
        return format_html('<span style="color:{}">■</span> {}', obj.color, obj.color)

    @admin.display(description="leads", ordering="active_leads")
    def lead_count(self, obj):
        return obj.active_leads

    def save_model(self, request, obj, form, change):
        if change:
            data = form_changes(form, services.TAG_FIELDS)
            adopt(obj, services.tag_update(tag=obj, acting_user=request.user, data=data))
        else:
            data = {name: form.cleaned_data[name] for name in services.TAG_FIELDS}
            adopt(obj, services.tag_create(acting_user=request.user, data=data))

    def delete_model(self, request, obj):
        services.tag_delete(tag=obj, acting_user=request.user)

    @admin.action(description="Restore selected deleted rows", permissions=["delete"])
    def restore_selected(self, request, queryset):
        # The organization's tags, whoever may delete them restores them: no row scope.
        self.restore_rows(request, queryset)

    def restore_row(self, request, row) -> None:
        services.tag_restore(tag=row, acting_user=request.user)


from leads import admin_lead_forms  # noqa: E402,F401  (registers the forms page)
