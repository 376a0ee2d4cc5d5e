"""Platform base models every domain model stands on.

- `UUIDModel`, `TimeStampedModel`: UUID primary keys, created/updated timestamps.
- `TenantModel`: belongs to one organization; its default manager only ever returns the
  current organization's rows (none without a context), RLS being the wall underneath.
- `TenantOwnedModel`: a tenant model with soft delete and history, the base of every
  domain model. Subclasses declare `class Meta(TenantOwnedModel.Meta)` to keep the
  partial index on active rows, and `soft_delete_children` (reverse accessor names) for
  the rows deleted and restored with them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from simple_history.models import HistoricalRecords

from smartweb import restore_parents
from smartweb.errors import Refusal
from smartweb.history import HistoryOrigin, OriginHistoryManager
from smartweb.loading import QuickLoadModel
from smartweb.tenancy.context import NoOrganizationContext, acting_user, current_organization_id
from smartweb.tenancy.joins import of_organization
from smartweb.unique_clashes import clash_of


class UUIDModel(QuickLoadModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class TimeStampedModel(UUIDModel):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class DeletedMeanwhile(Http404):
    """The row was deleted while the change waited for its lock: the change is refused
    as if it had come a moment later (404), and writes nothing."""


class RestoredMeanwhile(Http404):
    """The row was restored while the restore waited for its lock: refused as a restore
    of a live row is (404), and writes nothing."""


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


def stored_rows(model: type[models.Model]) -> models.QuerySet:
    """Every stored row of `model` (its base manager: soft-deleted rows too), for a tenant
    model named by the current organization, so that a look-up by id carries it as a
    database sharded by organization routes by (ADR 0035). RLS answers the same."""
    return of_organization(model._base_manager.all(), current_organization_id())


# Where `smartweb.access` keeps, on an instance, whether it is within a user's scope.
SCOPE_MEMO = "_access_in_scope"


def organization_key(**options) -> models.ForeignKey:
    """A tenant row's organization. Every tenant table's primary key leads with it
    (`organization_id`, `id`; ADR 0035) and serves every look-up by organization alone, so
    a table written in bulk drops the foreign key's own index (`db_index=False`): one
    index entry less for each row it writes."""
    return models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        **options,
    )


class TenantModel(TimeStampedModel):
    organization = organization_key()

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.organization_id is None:
            self.organization_id = current_organization_id()
            if self.organization_id is None:
                raise NoOrganizationContext(f"Cannot save {type(self).__name__} without one.")
        # Its owner may have changed: the next permission check reads the row again.
        self.__dict__.pop(SCOPE_MEMO, None)
        super().save(*args, **kwargs)

    def _do_update(self, base_qs, using, pk_val, *args, **kwargs):
        # The UPDATE names the organization as well as the id (ADR 0035); a row never
        # changes organization (the policies' WITH CHECK refuses it).
        base_qs = base_qs.filter(organization_id=self.organization_id)
        return super()._do_update(base_qs, using, pk_val, *args, **kwargs)


class SoftDeleteQuerySet(TenantQuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def dead(self):
        return self.filter(deleted_at__isnull=False)

    @transaction.atomic
    def delete(self):
        """Soft-delete each row through the model, so that history records every one.

        Rows are fetched one at a time: deleting one may cascade to another in the set,
        which then keeps its parent's timestamp (and is restored with it).
        """
        count = 0
        for pk in list(self.alive().values_list("pk", flat=True)):
            obj = self.alive().filter(pk=pk).first()
            if obj is not None and obj.soft_delete():
                count += 1
        return count, {self.model._meta.label: count}

    @transaction.atomic
    def restore(self):
        """Restore each row through the model; a row another request restored meanwhile
        (or one restored with its parent earlier in the set) is not counted."""
        return sum(obj.restore_deleted() for obj in self.dead())

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


class TenantHistoricalRecords(HistoricalRecords):
    """simple-history indexes every foreign key of a history table. A model names in
    `history_unindexed` the fields its history is never looked up by: each index of a
    history table costs every version saved, and nothing else. No history is looked up
    by `HISTORY_NEVER_INDEXED`: the organization leads the primary key, and who deleted
    a row is only read with that row."""

    HISTORY_NEVER_INDEXED = ("organization", "deleted_by")

    # A model's `encrypted_fields` (secrets) are not copied into its history: versions
    # are shown through the API and the admin, and a copy there would outlive the
    # secret's rotation and re-encryption (accounts.key_rotation reads the models only).
    def fields_included(self, model):
        secret = set(getattr(model, "encrypted_fields", ()))
        return [field for field in super().fields_included(model) if field.name not in secret]

    def create_history_model(self, model, inherited):
        history_model = super().create_history_model(model, inherited)
        # Read from the row itself when a version is shown whole (simple-history's
        # `get_instance`), as for any field the history leaves out.
        history_model._history_excluded_fields = [
            *self.excluded_fields,
            *getattr(model, "encrypted_fields", ()),
        ]
        return history_model

    def copy_fields(self, model):
        fields = super().copy_fields(model)
        unindexed = {*getattr(model, "history_unindexed", ()), *self.HISTORY_NEVER_INDEXED}
        for name in unindexed & fields.keys():
            fields[name].db_index = False
        return fields


def tracked_history(**options) -> HistoricalRecords:
    """History of a tenant model: who (the acting user), when, the values, and where
    from (request id, client address, user agent: `smartweb.history`)."""
    return TenantHistoricalRecords(
        get_user=_history_user,
        bases=[HistoryOrigin],
        history_manager=OriginHistoryManager,
        **options,
    )


class TenantOwnedModel(TenantModel):
    """Tenant-owned, soft-deletable, with a history table under RLS like its source.

    `soft_delete_children` names reverse relations (e.g. `("interactions",)`) whose
    active rows are soft-deleted with this row, with the same `deleted_at`; `restore()`
    brings back exactly those (the same timestamp marks one deletion), not children that
    were deleted on their own before.
    """

    soft_delete_children: tuple[str, ...] = ()

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
    history = tracked_history(inherit=True)

    class Meta:
        abstract = True
        indexes = [
            models.Index(
                fields=["organization", "id"],
                name="%(app_label)s_%(class)s_active",
                condition=Q(deleted_at__isnull=True),
            ),
            # The deleted rows alone, by when (the trash, the retention purge and its
            # preview): a few rows, where the indexes above hold only active ones.
            models.Index(
                fields=["organization", "deleted_at"],
                name="%(app_label)s_%(class)s_deleted",
                condition=Q(deleted_at__isnull=False),
            ),
        ]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def delete(self, using=None, keep_parents=False, *, hard: bool = False):
        """Soft delete; `hard=True` removes the row for good. A row another request
        deleted while this one waited for its lock is refused as if this delete had come
        a moment later (`DeletedMeanwhile`, a 404), and nothing is written."""
        if hard:
            return super().delete(using=using, keep_parents=keep_parents)
        if self.deleted_at is None and not self.soft_delete():
            raise DeletedMeanwhile(f"This {self._meta.verbose_name} has been deleted.")
        return 1, {self._meta.label: 1}

    def soft_delete(self) -> bool:
        """Soft-delete the row and its live children, unless the row is deleted by the
        time its lock is held; whether this call deleted it. Of concurrent deletes of one
        row exactly one acts, so the row and its children share one `deleted_at`."""
        with transaction.atomic():
            row = self._locked_row(deleted_at__isnull=True)
            if row is None:
                return False
            row._soft_delete(timezone.now(), _authenticated(acting_user()))
        self._take_deletion(row)
        return True

    def _soft_delete(self, deleted_at, deleted_by) -> None:
        """Of a live row locked by this transaction."""
        self.deleted_at = deleted_at
        self.deleted_by = deleted_by
        self.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        for child in self._soft_delete_child_rows(deleted_at__isnull=True):
            child._soft_delete(deleted_at, deleted_by)

    def hard_delete(self):
        return self.delete(hard=True)

    def restore(self) -> None:
        """Bring the row back with the children deleted with it. A row another request
        restored while this one waited for its lock is refused as if this restore had
        come a moment later (`RestoredMeanwhile`, a 404), and nothing is written."""
        if self.deleted_at is not None and not self.restore_deleted():
            raise RestoredMeanwhile(f"This {self._meta.verbose_name} is not deleted.")

    def restore_deleted(self) -> bool:
        """Restore the row unless it is live by the time its lock is held; whether this
        call restored it. Refused (`Refusal`, nothing written) where the row, or a row
        deleted with it, would break a unique rule a live row holds now (a name taken
        since it was deleted), or would be live under a parent in the trash
        (`smartweb.restore_parents`)."""
        try:
            with transaction.atomic():
                restore_parents.hold(self)
                row = self._locked_row(deleted_at__isnull=False)
                if row is None:
                    return False
                restore_parents.refuse_deleted_parents(row._restore())
        except IntegrityError as exc:
            clash = clash_of(exc)
            if clash is None:
                raise
            raise Refusal(f"Restoring it would make {clash}.") from exc
        self._take_deletion(row)
        return True

    def _restore(self) -> list[tuple[TenantOwnedModel, object]]:
        """Of a deleted row locked by this transaction: the row and the children that
        carry its `deleted_at` (deleted with it). Each row restored, with when it had
        been deleted, the row first."""
        deleted_at = self.deleted_at
        self.deleted_at = None
        self.deleted_by = None
        self.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        restored = [(self, deleted_at)]
        for child in self._soft_delete_child_rows(deleted_at=deleted_at):
            restored += child._restore()
        return restored

    def _locked_row(self, **filters):
        """The row as stored, locked until the transaction ends, if it still matches
        `filters` once locked (a row changed meanwhile is read again: the conditional
        UPDATE's answer). A soft delete or restore changes no key: FOR NO KEY UPDATE, as
        the UPDATE itself takes, leaves rows referencing this one free to be written."""
        rows = of_organization(type(self)._base_manager.all(), self.organization_id)
        return rows.select_for_update(no_key=True).filter(pk=self.pk, **filters).first()

    def _take_deletion(self, row) -> None:
        """This instance as the locked `row` was written."""
        self.deleted_at, self.deleted_by_id = row.deleted_at, row.deleted_by_id
        self.updated_at = row.updated_at

    def _soft_delete_child_rows(self, **filters):
        """Rows of the `soft_delete_children` relations matching `filters`, locked."""
        relations = {r.get_accessor_name(): r for r in self._meta.related_objects}
        for name in self.soft_delete_children:
            relation = relations[name]
            # Locked, in a fixed order, and read again once locked: a child deleted or
            # restored on its own meanwhile no longer matches and is left as it is.
            yield from (
                relation.related_model.all_objects.filter(**{relation.field.name: self, **filters})
                .select_for_update(no_key=True)
                .order_by("pk")
            )


def _authenticated(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def listed_or(annotation: str, fallback) -> property:
    """A related value that lists read in their own query as the `annotation` (JSON or a
    name, see the apps' selectors); a row read alone falls back to `fallback(row)`."""

    def read(row):
        listed = row.__dict__.get(annotation)
        return listed if listed is not None else fallback(row)

    return property(read)


def active_index(*fields: str, name: str, **kwargs) -> models.Index:
    """An index of the active (not soft-deleted) rows, which is all that lists read."""
    return models.Index(
        fields=list(fields), name=name, condition=Q(deleted_at__isnull=True), **kwargs
    )


def active_unique(*fields: str, name: str) -> models.UniqueConstraint:
    """A unique constraint among active (not soft-deleted) rows."""
    return models.UniqueConstraint(
        fields=list(fields), condition=Q(deleted_at__isnull=True), name=name
    )


class RateWindow(models.Model):
    """Hits of one rate-limit bucket in one fixed window (smartweb.rate_limit).

    Not tenant data: a limit is checked before any organization is known. The bucket is
    a digest of what is limited (an address, a form), so no address is stored."""

    id = models.BigAutoField(primary_key=True)
    bucket = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bucket", "window_start"], name="ratewindow_unique")
        ]
        indexes = [models.Index(fields=["window_start"], name="ratewindow_start")]

    def __str__(self) -> str:
        return f"{self.bucket[:12]} {self.window_start:%H:%M:%S} {self.hits}"
