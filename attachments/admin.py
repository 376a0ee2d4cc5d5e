"""The files of a record on its admin page: the list with download links, and an upload
form for whoever may change the record. Mix `AttachmentsAdminMixin` into a record's model
admin (before it); the page shows the module through `admin/change_form_steps.html`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from attachments import content, files, services
from attachments.downloads import file_response
from attachments.models import RECORD_RESOURCES, Attachment
from attachments.selectors import attachments_of, record_field_of, record_model
from smartweb import access
from smartweb.admin_versions import deleted_row
from smartweb.errors import REFUSALS, refusal_message
from smartweb.models import DeletedMeanwhile
from smartweb.rbac import Action


def download_url_name(model) -> str:
    return f"{model._meta.app_label}_{model._meta.model_name}_attachment"


def download_url(attachment) -> str:
    """Where the admin sends the file, through its record's page (read without the
    record: a timeline links many)."""
    field = attachment.record_field
    record_id = getattr(attachment, f"{field}_id")
    name = download_url_name(record_model(field))
    return reverse(f"admin:{name}", args=[record_id, attachment.pk])


class AttachmentsAdminMixin:
    def _upload_url_name(self) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_attach"

    def _remove_url_name(self) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_detach"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/attachments/",
                self.admin_site.admin_view(require_POST(self.attach_view)),
                name=self._upload_url_name(),
            ),
            path(
                "<path:object_id>/attachments/<uuid:attachment_id>/remove/",
                self.admin_site.admin_view(require_POST(self.remove_view)),
                name=self._remove_url_name(),
            ),
            path(
                "<path:object_id>/attachments/<uuid:attachment_id>/",
                self.admin_site.admin_view(self.download_view),
                name=download_url_name(self.model),
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            rows = list(attachments_of(obj)[:100])
            may_change = self._may_change(request, obj)
            for row in rows:
                row.download_url = download_url(row)
                if may_change:
                    row.remove_url = reverse(
                        f"admin:{self._remove_url_name()}", args=[obj.pk, row.pk]
                    )
            context["attachments"] = rows
            if may_change:
                context["attachment_upload_url"] = reverse(
                    f"admin:{self._upload_url_name()}", args=[obj.pk]
                )
                context["attachment_types"] = ", ".join(content.ALLOWED_EXTENSIONS)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _record(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))  # 404 outside the user's reach
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404("No such row.")
        return obj

    def attach_view(self, request, object_id):
        obj = self._record(request, object_id)
        upload = request.FILES.get("file")
        if upload is None:
            self.message_user(request, "Choose a file to attach.", messages.ERROR)
        else:
            try:
                with transaction.atomic():
                    services.attachment_create(record=obj, upload=upload, acting_user=request.user)
            except files.StorageFailed as exc:
                self.message_user(request, str(exc), messages.ERROR)
            except REFUSALS as exc:
                if isinstance(exc, PermissionDenied):
                    raise
                self.message_user(request, refusal_message(exc), messages.ERROR)
            else:
                self.message_user(request, f"“{upload.name}” attached.", messages.SUCCESS)
        return self._back_to_files(obj)

    def remove_view(self, request, object_id, attachment_id):
        """Move a file to the trash (restored or purged as any soft-deleted row)."""
        obj = self._record(request, object_id)
        attachment = attachments_of(obj).filter(pk=attachment_id).first()
        if attachment is None:
            return self._already_removed(request, obj, attachment_id)
        try:
            with transaction.atomic():
                services.attachment_delete(attachment=attachment, acting_user=request.user)
        except DeletedMeanwhile:  # by a post that came first, while this one waited
            return self._already_removed(request, obj, attachment_id)
        self.message_user(request, f"“{attachment.original_name}” removed.", messages.SUCCESS)
        return self._back_to_files(obj)

    def _already_removed(self, request, obj, attachment_id):
        """A second post for a file of the record removed since (a double click on
        Remove): back to the files, saying so, as a refused delete is shown (not a 404).
        A file of no such record, or a user who may not remove its files, still gets 404."""
        removed = deleted_row(Attachment, attachment_id)
        if (
            removed is None
            or getattr(removed, f"{record_field_of(obj)}_id") != obj.pk
            or not self._may_change(request, obj)
        ):
            raise Http404("No such file.")
        by = removed.deleted_by
        by = f" by {by}" if by is not None and by.pk != request.user.pk else ""
        self.message_user(
            request, f"“{removed.original_name}” was already removed{by}.", messages.WARNING
        )
        return self._back_to_files(obj)

    def _may_change(self, request, obj) -> bool:
        """May the user attach and remove the record's files (change the record)?"""
        resource = RECORD_RESOURCES[record_field_of(obj)]
        return access.can(request.user, Action.UPDATE, resource, obj=obj)

    def download_view(self, request, object_id, attachment_id):
        return file_response(self._attachment(self._record(request, object_id), attachment_id))

    def _attachment(self, obj, attachment_id):
        found = attachments_of(obj).filter(pk=attachment_id).first()
        if found is None:
            raise Http404("No such file.")
        return found

    def _back_to_files(self, obj):
        meta = self.model._meta
        change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        return HttpResponseRedirect(f"{change}#attachments")
