"""Where each history row comes from: request id, client address and user agent.

simple-history's documented way to add fields to historical models: an abstract base
(`HistoryOrigin`, passed as `bases`) and the `pre_create_historical_record` signal, which
fills them from the current origin (`smartweb.origin`). Bulk writes
(`bulk_create_with_history`, `bulk_update_with_history`) send no signal: their manager
(`OriginHistoryManager`) fills the same fields.
"""

from __future__ import annotations

from django.db import models
from django.dispatch import receiver
from simple_history.manager import HistoryManager
from simple_history.signals import pre_create_historical_record

from smartweb.history_values import made_by
from smartweb.origin import USER_AGENT_MAX_LENGTH, current_origin
from smartweb.tenancy.context import current_organization_id
from smartweb.tenancy.joins import of_organization


class HistoryOrigin(models.Model):
    history_request_id = models.CharField(max_length=160, blank=True, default="")
    history_ip_address = models.GenericIPAddressField(null=True, blank=True)
    history_user_agent = models.CharField(max_length=USER_AGENT_MAX_LENGTH, blank=True, default="")

    class Meta:
        abstract = True

    @property
    def history_made_by(self) -> str:
        """Who made this change, by name, or what made it ("Job: …", "System")."""
        return made_by(self)


def origin_attrs() -> dict[str, object]:
    origin = current_origin()
    return {
        "history_request_id": origin.request_id,
        "history_ip_address": origin.ip_address,
        "history_user_agent": origin.user_agent,
    }


@receiver(pre_create_historical_record, dispatch_uid="smartweb.history.record_origin")
def record_origin(sender, history_instance, **kwargs) -> None:
    if isinstance(history_instance, HistoryOrigin):
        for name, value in origin_attrs().items():
            setattr(history_instance, name, value)


class OriginHistoryManager(HistoryManager):
    def get_queryset(self):
        """A row's history names the row's organization, a model's the current one, as a
        database sharded by organization routes by (ADR 0035)."""
        if self.instance is None:
            organization_id = current_organization_id()
        else:
            organization_id = getattr(self.instance, "organization_id", None)
        return of_organization(super().get_queryset(), organization_id)

    def bulk_history_create(self, objs, *args, custom_historical_attrs=None, **kwargs):
        attrs = {**origin_attrs(), **(custom_historical_attrs or {})}
        return super().bulk_history_create(objs, *args, custom_historical_attrs=attrs, **kwargs)
