"""Platform base models every domain model stands on.

- `UUIDModel`, `TimeStampedModel`: UUID primary keys, created/updated timestamps.
- `TenantModel`: belongs to one organization; its default manager only ever returns the
  current organization's rows (none without a context), RLS being the wall underneath.
- `TenantOwnedModel`: a tenant model with soft delete and history, the base of every
  domain model. Subclasses declare `class Meta(TenantOwnedModel.Meta)` to keep the
  partial index on active rows.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from smartweb.tenancy.context import NoOrganizationContext, acting_user, current_organization_id


class UUIDModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class TimeStampedModel(UUIDModel):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantQuerySet(models.QuerySet):
    def for_current_organization(self):
        organization_id = current_organization_id()
        if organization_id is None:
            return self.none()
        return self.filter(organization_id=organization_id)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Scopes every query to the current organization; fail closed without one."""

    def get_queryset(self):
        return super().get_queryset().for_current_organization()


class TenantModel(TimeStampedModel):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+", editable=False
    )

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.organization_id is None:
            self.organization_id = current_organization_id()
            if self.organization_id is None:
                raise NoOrganizationContext(f"Cannot save {type(self).__name__} without one.")
        super().save(*args, **kwargs)


class SoftDeleteQuerySet(TenantQuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def dead(self):
        return self.filter(deleted_at__isnull=False)

    @transaction.atomic
    def delete(self):
        """Soft-delete each row through the model, so that history records every one."""
        count = 0
        for obj in self.alive():
            obj.delete()
            count += 1
        return count, {self.model._meta.label: count}

    @transaction.atomic
    def restore(self):
        count = 0
        for obj in self.dead():
            obj.restore()
            count += 1
        return count

    def hard_delete(self):
        return super().delete()


class ActiveManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    """Current organization, soft-deleted rows hidden."""

    def get_queryset(self):
        return super().get_queryset().for_current_organization().alive()


class AllObjectsManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    """Current organization, soft-deleted rows included."""

    def get_queryset(self):
        return super().get_queryset().for_current_organization()


def _history_user(instance=None, request=None, **kwargs):
    user = acting_user()
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return getattr(request, "user", None) if request is not None else None


class TenantOwnedModel(TenantModel):
    """Tenant-owned, soft-deletable, with a history table under RLS like its source."""

    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = ActiveManager()
    all_objects = AllObjectsManager()
    history = HistoricalRecords(inherit=True, get_user=_history_user)

    class Meta:
        abstract = True
        indexes = [
            models.Index(
                fields=["organization", "id"],
                name="%(app_label)s_%(class)s_active",
                condition=Q(deleted_at__isnull=True),
            )
        ]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def delete(self, using=None, keep_parents=False, *, hard: bool = False):
        """Soft delete; `hard=True` removes the row for good."""
        if hard:
            return super().delete(using=using, keep_parents=keep_parents)
        if self.deleted_at is None:
            self.deleted_at = timezone.now()
            self.deleted_by = _authenticated(acting_user())
            self.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        return 1, {self._meta.label: 1}

    def hard_delete(self):
        return self.delete(hard=True)

    def restore(self) -> None:
        if self.deleted_at is not None:
            self.deleted_at = None
            self.deleted_by = None
            self.save(update_fields=["deleted_at", "deleted_by", "updated_at"])


def _authenticated(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def active_unique(*fields: str, name: str) -> models.UniqueConstraint:
    """A unique constraint among active (not soft-deleted) rows."""
    return models.UniqueConstraint(
        fields=list(fields), condition=Q(deleted_at__isnull=True), name=name
    )
