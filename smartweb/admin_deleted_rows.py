"""What a soft delete from the admin takes along, as its confirmation page lists it: the
live rows only, and of a kind no admin page shows, those its reader may read.

Django's confirmation (`get_deleted_objects`, for a row's page and the list's "Delete
selected") collects every row a delete would cascade to or be protected by, rows in the
trash included, and refuses the delete where the user may not delete one of them. A row
in the trash is not deleted again (its admin answers so), so a lead whose call was
deleted before it was refused to an organization admin, as "your account doesn't have
permission to delete … interaction". A soft delete leaves the rows in the trash as they
are (`TenantOwnedModel.soft_delete`), so they are neither listed nor asked about. A live
row still is: a live deal still stops its lead's delete on "Cannot delete" (ADR 0052).
"""

from __future__ import annotations

from django.contrib.admin.utils import NestedObjects, quote
from django.db import router
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from smartweb import access
from smartweb.models import TenantOwnedModel
from smartweb.rbac import Action


class LiveRowsCollector(NestedObjects):
    """Django's collector for the confirmation page, reading no row in the trash, nor a
    row that no admin page shows (a lead's tag) where `reader` may not read it. A row an
    admin page shows is asked of that page: one its reader may not delete is refused by
    its kind alone ("your account doesn't have permission to delete … task"), never named
    or counted. A row with no page was named and counted whoever read it: a sales manager
    removing a tag was told how many leads of the whole organization carry it."""

    def __init__(self, *args, reader, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.reader, self.admin_site = reader, admin_site

    def related_objects(self, related_model, related_fields, objs):
        rows = super().related_objects(related_model, related_fields, objs)
        if issubclass(related_model, TenantOwnedModel):
            rows = rows.filter(deleted_at__isnull=True)
        scoped = getattr(related_model, "rbac_resource", None) is not None
        if scoped and not self.admin_site.is_registered(related_model):
            rows = access.visible(self.reader, Action.READ, rows)
        return rows


def live_deleted_objects(objs, request, admin_site):
    """`django.contrib.admin.utils.get_deleted_objects` (the same four answers, each row
    named and linked as there) through `LiveRowsCollector`."""
    if not len(objs):
        return [], {}, set(), []
    collector = LiveRowsCollector(
        using=router.db_for_write(objs[0]._meta.model),
        origin=objs,
        reader=request.user,
        admin_site=admin_site,
    )
    collector.collect(objs)
    perms_needed: set = set()

    def named(row):
        opts = row._meta
        if not admin_site.is_registered(type(row)):
            return f"{capfirst(opts.verbose_name)}: {row}"
        if not admin_site.get_model_admin(type(row)).has_delete_permission(request, row):
            perms_needed.add(opts.verbose_name)
        try:
            url = reverse(
                f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[quote(row.pk)],
            )
        except NoReverseMatch:
            return f"{capfirst(opts.verbose_name)}: {row}"
        return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, row)

    to_delete = collector.nested(named)
    protected = [named(row) for row in collector.protected]
    counts = {
        model._meta.verbose_name_plural: len(rows) for model, rows in collector.model_objs.items()
    }
    return to_delete, counts, perms_needed, protected
