"""Back office of data subject rights: the compliance page of the current organization,
requests, consent records, the suppression list, and two actions on leads (export the
person's data, erase it). Every write goes through `compliance.services`.
"""

from __future__ import annotations

import io
import zipfile
from typing import NamedTuple

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import AuditLog, Organization
from compliance import retention, services
from compliance.choices import RequestKind, RequestStatus
from compliance.models import ComplianceOverview, ConsentRecord, SubjectRequest, SuppressionEntry
from leads.models import Lead
from smartweb import access
from smartweb.admin import (
    AppendOnlyAdminMixin,
    ReadOnlyAdminMixin,
    TenantHistoryAdmin,
    TenantModelAdmin,
    adopt,
    each_or_none,
)
from smartweb.admin_links import link_if_readable
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import current_organization_id

CONFIRM_TEMPLATE = "admin/compliance/confirm.html"
RECENT = 20


def _confirm(modeladmin, request, queryset, *, title, action, warning, form=None):
    """The intermediate page of an action that cannot be undone."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "warning": warning,
        "queryset": queryset,
        "form": form,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, CONFIRM_TEMPLATE, context)


def _download(exports: list[services.ExportFile]) -> HttpResponse:
    """One export as its file; several as a zip of them."""
    if len(exports) == 1:
        content, content_type, filename = (
            exports[0].content,
            exports[0].content_type,
            exports[0].filename,
        )
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for export in exports:
                bundle.writestr(export.filename, export.content)
        content, content_type = buffer.getvalue(), "application/zip"
        filename = f"subjects-{timezone.now():%Y%m%dT%H%M%SZ}.zip"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class Subject(NamedTuple):
    """A person acted for: their lead, and the request acted on (None, from the leads list:
    the person's own open one, or a new one). Named by the person, as the lists name them: a
    purged lead by the id its request keeps."""

    lead: Lead | None
    pending: SubjectRequest | None = None

    def __str__(self) -> str:
        if self.lead is None:
            return f"Lead {self.pending.lead_reference} (purged)"
        return str(self.lead)


def _each_or_none(request, subjects: list[Subject], service, *, undone: str) -> list:
    """`service` (an export or an erasure) for each subject, as the request's user, or for
    none: a refusal of any (its request closed meanwhile by someone else, a person the
    user may not act for) names each refused person and writes nothing (`each_or_none`,
    then the list's `response_action`)."""
    return each_or_none(
        subjects,
        lambda subject: service(
            lead=subject.lead,
            acting_user=request.user,
            subject_request=subject.pending,
            request=request,
        ),
        undone=undone,
    )


def _export(request, subjects: list[Subject]):
    """Export each subject's data: a download of them all, or none (`_each_or_none`), no
    request answered and no export logged: the download would not have told which ones
    were sent."""
    exports = _each_or_none(
        request, subjects, services.export_subject, undone="Nothing was exported."
    )
    return _download(exports) if exports else None


def _erase(modeladmin, request, subjects: list[Subject]) -> None:
    """Erase each subject's data, or none (`_each_or_none`): the people erased before a
    refusal keep their rows and history, no suppression entry nor audit event of theirs
    is kept, and their files stay in the storage (an erasure removes them as it
    commits). A person erased before is refused, or their request since is answered with
    that erasure, as the service decides; the messages count the two apart."""
    done = _each_or_none(request, subjects, services.erase_subject, undone="Nothing was erased.")
    answered = sum(map(services.erased_before, done))
    modeladmin.message_user(request, f"Erased {len(done) - answered} person(s).", messages.SUCCESS)
    if answered:
        modeladmin.message_user(
            request,
            f"Answered {answered} request(s) of people erased before, without erasing them again.",
            messages.INFO,
        )


ERASE_WARNING = (
    "The personal data of these people will be overwritten everywhere, history included, "
    "and their emails and phones put on the suppression list. This cannot be undone."
)


class SubjectActionPermissions:
    """The permissions the export and erasure actions declare (`subject_export`,
    `subject_erase`), as the compliance services check them."""

    def has_subject_export_permission(self, request):
        return services.subject_permitted(request.user, Action.READ)

    def has_subject_erase_permission(self, request):
        return services.subject_permitted(request.user, Action.DELETE)


# --- actions on leads --------------------------------------------------------------


@admin.action(
    description="Export the person's data (GDPR access request)", permissions=["subject_export"]
)
def export_subject_data(modeladmin, request, queryset):
    return _export(request, [Subject(lead) for lead in queryset])


@admin.action(
    description="Erase the person's data (GDPR erasure, irreversible)",
    permissions=["subject_erase"],
)
def erase_subject_data(modeladmin, request, queryset):
    if request.POST.get("confirm") != "yes":
        return _confirm(
            modeladmin,
            request,
            queryset,
            title="Erase personal data",
            action="erase_subject_data",
            warning=ERASE_WARNING,
        )
    _erase(modeladmin, request, [Subject(lead) for lead in queryset])
    return None


def _extend_lead_admin() -> None:
    lead_admin = admin.site.get_model_admin(Lead)
    lead_admin.actions = [*lead_admin.actions, export_subject_data, erase_subject_data]
    # The checks the two actions declare, bound to the lead admin (leads knows nothing
    # of compliance).
    for name in ("has_subject_export_permission", "has_subject_erase_permission"):
        setattr(lead_admin, name, getattr(SubjectActionPermissions, name).__get__(lead_admin))


_extend_lead_admin()


# --- requests ----------------------------------------------------------------------


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


@admin.register(SubjectRequest)
class SubjectRequestAdmin(SubjectActionPermissions, AppendOnlyAdminMixin, TenantHistoryAdmin):
    list_display = ["kind", "status", "person", "received_at", "due_at", "completed_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["lead__company"]
    autocomplete_fields = ["lead"]
    # Found by whom they are about (the list's search, and the chooser of a suppression
    # entry's request, which has nothing to answer without a search).
    search_fields = ["lead__contact_name", "lead__company__name", "lead_reference", "notes"]
    fields = ["kind", "lead", "received_at", "notes"]
    actions = ["fulfil_export", "fulfil_erasure", "reject_selected"]
    ordering = ["status", "due_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return self.fields
        return ["kind", self._person(request), "received_at", "notes", "status", "result"]

    def get_readonly_fields(self, request, obj=None):
        return [self._person(request), "result"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A request is opened about a person: the column is empty only once their lead
        # is purged, so the add page's chooser may not be left empty.
        if db_field.name == "lead":
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_display(self, request):
        return [
            self._person(request) if column == "person" else column
            for column in super().get_list_display(request)
        ]

    @admin.display(description="person")
    def person(self, obj):
        """Whom the request is about, by name: an erased person reads as erased, and a
        purged lead by the id the request keeps. The list and the page show it linked
        (`_person`)."""
        return str(Subject(obj.lead, obj))

    def _person(self, request):
        """The person column and field for `request`'s user: `person`, linked to their
        lead where its page opens for the user. One function per request: the form
        leaves its read-only fields out by identity."""
        if not hasattr(request, "_subject_person"):

            @admin.display(description="person")
            def person(subject_request):
                if subject_request.lead is None:
                    return self.person(subject_request)
                return link_if_readable(request, self.admin_site, subject_request.lead)

            request._subject_person = person
        return request._subject_person

    def save_model(self, request, obj, form, change):
        saved = services.subject_request_open(
            kind=obj.kind,
            lead=obj.lead,
            acting_user=request.user,
            notes=obj.notes,
            received_at=obj.received_at,
        )
        adopt(obj, saved)

    def _of_kind(self, request, queryset, kind):
        """The chosen requests of `kind` with a lead, closed ones too, for the service to
        refuse (a request closed since the list was read stops an action that is all or
        nothing); a warning if others were chosen."""
        chosen = list(queryset.filter(kind=kind, lead__isnull=False))
        if len(chosen) != queryset.count():
            self.message_user(
                request, f"Only {kind} requests with a lead are fulfilled.", messages.WARNING
            )
        return chosen

    def has_reject_permission(self, request):
        return access.can(request.user, Action.UPDATE, Resource.COMPLIANCE)

    @admin.action(
        description="Fulfil selected export requests (download)", permissions=["subject_export"]
    )
    def fulfil_export(self, request, queryset):
        chosen = self._of_kind(request, queryset, RequestKind.EXPORT)
        return _export(request, [Subject(r.lead, r) for r in chosen])

    @admin.action(
        description="Fulfil selected erasure requests (irreversible)", permissions=["subject_erase"]
    )
    def fulfil_erasure(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            return _confirm(
                self,
                request,
                queryset,
                title="Fulfil erasure requests",
                action="fulfil_erasure",
                warning=ERASE_WARNING,
            )
        chosen = self._of_kind(request, queryset, RequestKind.ERASURE)
        _erase(self, request, [Subject(r.lead, r) for r in chosen])
        return None

    @admin.action(description="Reject selected requests", permissions=["reject"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if not form.is_valid():
            return _confirm(
                self,
                request,
                queryset,
                title="Reject requests",
                action="reject_selected",
                warning="Say why (identity not verified, not our data…): it is kept with them.",
                form=form,
            )
        # Each request the page listed, or none: one closed since (answered or rejected
        # by someone else) is named, and nothing is rejected (`each_or_none`).
        rejected = each_or_none(
            [Subject(r.lead, r) for r in queryset.select_related("lead__company")],
            lambda subject: services.subject_request_reject(
                subject_request=subject.pending,
                acting_user=request.user,
                reason=form.cleaned_data["reason"],
            ),
            undone="Nothing was rejected.",
        )
        self.message_user(request, f"Rejected {len(rejected)} request(s).", messages.SUCCESS)
        return None


# --- consent -----------------------------------------------------------------------


@admin.register(ConsentRecord)
class ConsentRecordAdmin(AppendOnlyAdminMixin, TenantHistoryAdmin):
    """Append-only: a change of mind is a new record."""

    list_display = ["lead", "purpose", "granted", "recorded_at", "source", "recorded_by"]
    list_filter = ["purpose", "granted", "source"]
    list_select_related = ["lead__company", "recorded_by"]
    raw_id_fields = ["lead"]
    attached_to = {"lead": (Action.UPDATE, Resource.LEADS)}  # `consent_record`
    fields = ["lead", "purpose", "granted", "recorded_at", "source", "evidence"]

    def get_queryset(self, request):
        leads = access.visible(request.user, Action.READ, Lead.all_objects.all(), Resource.LEADS)
        return super().get_queryset(request).filter(lead__in=leads)

    def save_model(self, request, obj, form, change):
        saved = services.consent_record(
            lead=obj.lead,
            purpose=obj.purpose,
            granted=obj.granted,
            source=obj.source,
            evidence=obj.evidence,
            recorded_at=obj.recorded_at,
            acting_user=request.user,
        )
        adopt(obj, saved)


@admin.register(SuppressionEntry)
class SuppressionEntryAdmin(TenantModelAdmin):
    """Hashes only; deleting an entry lets the person be created again."""

    list_display = ["kind", "value_hash", "reason", "created_at"]
    list_filter = ["kind", "reason"]
    readonly_fields = ["kind", "value_hash", "reason", "subject_request", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- the compliance page -----------------------------------------------------------


@admin.register(ComplianceOverview)
class ComplianceOverviewAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """The compliance page: open requests, recent exports and erasures, consent
    withdrawals, and what the retention settings will purge next (a dry run)."""

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        organization = Organization.objects.get(pk=current_organization_id())
        today = timezone.now()
        open_requests = SubjectRequest.objects.filter(status=RequestStatus.OPEN).order_by("due_at")
        leads = access.visible(request.user, Action.READ, Lead.all_objects.all(), Resource.LEADS)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Compliance — {organization.name}",
            "opts": self.model._meta,
            "now": today,
            "open_requests": open_requests,
            "closed_requests": SubjectRequest.objects.exclude(status=RequestStatus.OPEN).order_by(
                "-completed_at"
            )[:RECENT],
            "events": AuditLog.objects.filter(
                organization_id=organization.pk,
                action__in=[AuditAction.EXPORT, AuditAction.ERASURE],
            ).order_by("-created_at")[:RECENT],
            "withdrawals": ConsentRecord.objects.filter(granted=False, lead__in=leads)
            .select_related("lead__company")
            .order_by("-recorded_at")[:RECENT],
            "retention": retention.retention_of(organization),
            "purge_plan": retention.plan(organization),
            "suppressed": SuppressionEntry.objects.count(),
        }
        return TemplateResponse(request, "admin/compliance/overview.html", context)
