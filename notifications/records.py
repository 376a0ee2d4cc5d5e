"""The records notifications are about, by their current names. A notification's text
keeps the name the record had when it was made (a lead's company, a task's title); where
the notification is shown, the record is named as it is now beside it, read with the
recipient's own permissions: a record since reassigned beyond their reach, or deleted,
is named no more (its old name stays in the text they were given)."""

from __future__ import annotations

from collections import defaultdict

from django.apps import apps

from smartweb import access
from smartweb.models import TenantModel
from smartweb.rbac import Action

# What a record's name is read with, beside the record itself.
RELATED = {"leads.lead": ["company"]}


def current_names(user, notifications) -> dict:
    """{record id: its name now} for the records of `notifications` that `user` may read:
    one query per kind of record."""
    ids_by_type: dict[str, set] = defaultdict(set)
    for notification in notifications:
        ids_by_type[notification.target_type].add(notification.target_id)
    names = {}
    for label, ids in ids_by_type.items():
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        if not issubclass(model, TenantModel) or getattr(model, "rbac_resource", None) is None:
            continue  # not an organization's record under the permission service
        rows = model.objects.filter(pk__in=ids).select_related(*RELATED.get(label, []))
        names.update({row.pk: str(row) for row in access.visible(user, Action.READ, rows)})
    return names
