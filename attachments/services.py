"""Attaching files to records, deleting them, and erasing them with a data subject.

Attaching or deleting a file changes its record: it needs `update` on the record, in the
record's scope (ADR 0030); a record of an erased lead takes no new file. The file is
checked (`attachments.content`) before anything is written; it is stored before its row
and removed again if the row fails, so neither is ever left without the other.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Q

from attachments import content, files
from attachments.models import RECORD_RESOURCES, Attachment
from attachments.selectors import record_field_of
from leads.services import lock_record_to_add_to
from smartweb import access
from smartweb.rbac import Action


def require_change(user, record) -> str:
    """Refuse unless `user` may change `record` (`update` on it, in its scope): the rule
    of its files and of emailing it (`mailing.email_document`). The record's field."""
    field = record_field_of(record)
    access.require(user, Action.UPDATE, RECORD_RESOURCES[field], record)
    return field


@transaction.atomic
def attachment_create(*, record, upload, acting_user, name: str | None = None) -> Attachment:
    """Check the upload, store it under a random name and record it on `record`. Nothing
    is added to a record of an erased lead (`compliance.erased`): refused before the file
    is stored, under a lock on the lead held until the row is in; nor to a lead merged
    away meanwhile, which the file would stay on, out of sight."""
    field = require_change(acting_user, record)
    lock_record_to_add_to(record)
    checked = content.check(upload, name or upload.name or "")
    sha256 = files.sha256_of(upload)
    extension = content.ALLOWED[checked.content_type][0]
    stored = files.write(upload, organization_id=record.organization_id, extension=extension)
    try:
        with transaction.atomic():
            attachment = Attachment.objects.create(
                organization_id=record.organization_id,
                **{field: record},
                file=stored,
                original_name=checked.name,
                content_type=checked.content_type,
                size=upload.size,
                sha256=sha256,
                uploaded_by=acting_user if getattr(acting_user, "pk", None) else None,
            )
            # The tenant foreign keys are checked at commit; check them now, while the
            # file can still be taken back.
            connection.check_constraints(table_names=[Attachment._meta.db_table])
    except BaseException:
        files.remove(stored)
        raise
    return attachment


def attachment_delete(*, attachment: Attachment, acting_user) -> None:
    """Move the attachment to the trash; its file goes when the row is purged."""
    require_change(acting_user, attachment.record)
    attachment.delete()


def attachments_erase(*, records: dict[str, object]) -> int:
    """Delete for good the attachments (and their history) of the given records, field ->
    queryset of record ids; their files go when the erasure commits."""
    match = Q(pk__in=[])
    for field, ids in records.items():
        match |= Q(**{f"{field}__in": ids})
    rows = Attachment.all_objects.filter(match)
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        return 0
    Attachment._base_manager.filter(pk__in=ids).delete()
    # After the rows: deleting a row writes its last history row.
    Attachment.history.model.objects.filter(id__in=ids).delete()
    return len(ids)
