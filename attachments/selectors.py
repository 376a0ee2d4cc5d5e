"""Which attachments a user may see or change: those of the records they may (ADR 0006's
sub-selects, one per kind of record, each through the record's own scope rules)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from attachments.models import RECORD_RESOURCES, Attachment
from smartweb import access
from smartweb.rbac import Action


def record_model(field: str):
    return Attachment._meta.get_field(field).related_model


def records_q(user, action: str) -> Q:
    """Attachments whose record `user` may `action`; none without any such scope."""
    allowed = Q(pk__in=[])
    for field, resource in RECORD_RESOURCES.items():
        if access.can(user, action, resource):
            records = access.visible(user, action, record_model(field)._default_manager.all())
            allowed |= Q(**{f"{field}__in": records.values("pk")})
    return allowed


def attachments_visible(user, queryset: QuerySet | None = None) -> QuerySet:
    queryset = Attachment.objects.all() if queryset is None else queryset
    return access.visible(user, Action.READ, queryset)


def attachments_of(record) -> QuerySet:
    """The active attachments of one record, newest first (its page and timeline; the
    record's own page has checked that the user may read it)."""
    field = record_field_of(record)
    return Attachment.objects.filter(**{field: record}).select_related("uploaded_by")


def record_field_of(record) -> str:
    for field in RECORD_RESOURCES:
        if isinstance(record, record_model(field)):
            return field
    raise TypeError(f"{type(record).__name__} rows have no attachments.")


def may_attach_anything(user) -> bool:
    """May `user` change some kind of record, and so attach files to it?"""
    return any(access.can(user, Action.UPDATE, resource) for resource in RECORD_RESOURCES.values())


def may_read_anything(user) -> bool:
    return any(access.can(user, Action.READ, resource) for resource in RECORD_RESOURCES.values())
