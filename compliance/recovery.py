"""Which rows are soft-deleted and restored with their parent.

One table for the whole domain, so that "what goes with what" is decided in one place
and checked at start-up: a renamed relation fails loudly instead of silently leaving
children behind. `smartweb.models.TenantOwnedModel` does the cascading.
"""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from smartweb.models import TenantOwnedModel

# model -> reverse accessors of the children deleted (and restored) with it.
SOFT_DELETE_CHILDREN: dict[str, tuple[str, ...]] = {
    "leads.Company": ("leads",),
    "leads.Lead": ("interactions", "enrichments", "opportunities", "ai_calls", "crm_tasks"),
    "crm.Pipeline": ("stages",),
    "crm.Opportunity": ("proposals", "contracts", "tasks"),
    "crm.Proposal": ("line_items",),
    "crm.Campaign": ("calls",),
}


def install_soft_delete_children() -> None:
    for label, names in SOFT_DELETE_CHILDREN.items():
        model = apps.get_model(label)
        accessors = {r.get_accessor_name(): r.related_model for r in model._meta.related_objects}
        for name in names:
            child = accessors.get(name)
            if child is None or not issubclass(child, TenantOwnedModel):
                raise ImproperlyConfigured(
                    f"{label}.{name} is not a relation to a soft-deletable model."
                )
        model.soft_delete_children = names
