"""Saved views: a named query (filters, search, ordering) of one list, leads,
opportunities or tasks, kept by its owner and, when shared, offered to their team.

The query is in the API's vocabulary (`savedviews.vocabulary`), which the admin
translates its own list parameters to and from: one view, the same rows in both.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from smartweb.json_schema import DeclaredJSONField
from smartweb.models import TenantOwnedModel
from smartweb.rbac import Resource


class ViewResource(models.TextChoices):
    """The lists a view can be saved of (values are RBAC resources)."""

    LEADS = Resource.LEADS.value, "Leads"
    OPPORTUNITIES = Resource.OPPORTUNITIES.value, "Opportunities"
    TASKS = Resource.TASKS.value, "Tasks"


class SavedView(TenantOwnedModel):
    """One person's named list query. Private views are seen by their owner alone,
    whatever a role's scope (`visible_to_q`, read by smartweb.access); shared ones by
    whoever's read scope reaches the owner (their team for the sales roles)."""

    rbac_resource = Resource.SAVED_VIEWS
    scope_owner_field = "owner"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="saved_views"
    )
    resource = models.CharField(max_length=20, choices=ViewResource.choices)
    name = models.CharField(max_length=80)
    shared = models.BooleanField(default=False, help_text="Offered to the owner's team.")
    query = DeclaredJSONField(default=dict, blank=True, schema="savedviews.json_schemas.QUERY")

    class Meta(TenantOwnedModel.Meta):
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resource__in=ViewResource.values), name="savedview_resource_valid"
            ),
            models.UniqueConstraint(
                fields=["organization", "owner", "resource", "name"],
                condition=Q(deleted_at__isnull=True),
                name="savedview_name_unique",
            ),
        ]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            # The views box of a list: the user's and their team's views of one resource.
            models.Index(
                fields=["organization", "resource", "owner"],
                condition=Q(deleted_at__isnull=True),
                name="savedview_org_resource",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def visible_to_q(cls, user) -> Q:
        return Q(owner_id=user.pk) | Q(shared=True)

    def hidden_from(self, user) -> bool:
        return not self.shared and self.owner_id != getattr(user, "pk", None)
