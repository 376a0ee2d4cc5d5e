"""Files on a lead, company, opportunity, proposal or contract (ADR 0030).

An attachment belongs to exactly one record through one of five nullable foreign keys (a
check constraint says so), so that each is a composite tenant key like any other; who may
read or change it is whoever may read or change its record (`attachments.selectors`).
The file itself is in the default storage under a random name (`attachments.files`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from smartweb.models import TenantOwnedModel, active_index
from smartweb.rbac import Resource

# Record field -> the RBAC resource of the record; the order is the one forms offer.
RECORD_RESOURCES: dict[str, str] = {
    "lead": Resource.LEADS,
    "company": Resource.COMPANIES,
    "opportunity": Resource.OPPORTUNITIES,
    "proposal": Resource.PROPOSALS,
    "contract": Resource.CONTRACTS,
}


def _exactly_one_record() -> Q:
    condition = Q()
    for chosen in RECORD_RESOURCES:
        condition |= Q(
            **{f"{name}__isnull": name != chosen for name in RECORD_RESOURCES},
        )
    return condition


def _record_fk(model: str) -> models.ForeignKey:
    # CASCADE: a record purged for good (retention) takes its files with it.
    return models.ForeignKey(
        model, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )


class Attachment(TenantOwnedModel):
    """One uploaded file of one record: the storage name, and what was checked of it."""

    lead = _record_fk("leads.Lead")
    company = _record_fk("leads.Company")
    opportunity = _record_fk("crm.Opportunity")
    proposal = _record_fk("crm.Proposal")
    contract = _record_fk("crm.Contract")
    # The storage's name of the file: random, chosen by `attachments.files`, never the user.
    file = models.CharField(max_length=200, editable=False)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta(TenantOwnedModel.Meta):
        ordering = ["-created_at"]
        indexes = [
            *TenantOwnedModel.Meta.indexes,
            *(
                active_index("organization", name, "created_at", name=f"attachment_org_{name}")
                for name in RECORD_RESOURCES
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=_exactly_one_record(), name="attachment_one_record"),
            models.UniqueConstraint(fields=["organization", "file"], name="attachment_file_unique"),
        ]

    def __str__(self) -> str:
        return self.original_name

    @staticmethod
    def records_q(user, action: str) -> Q:
        """The permission service's filter of the rows `user` may `action`: those of the
        records they may (`smartweb.access.visible`)."""
        from attachments.selectors import records_q

        return records_q(user, action)

    @property
    def record_field(self) -> str:
        return next(name for name in RECORD_RESOURCES if getattr(self, f"{name}_id"))

    @property
    def record(self):
        return getattr(self, self.record_field)
