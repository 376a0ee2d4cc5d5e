"""Everything the organization holds about one data subject, as querysets.

A subject is a lead, together with the leads merged into it (they are the same person),
their companies, and every row hanging off them: interactions, enrichments, tags,
opportunities with their proposals, line items and contracts, AI calls, tasks, consent
records, subject requests and email messages. Each part is a filter that applies both to the current
rows (soft-deleted ones included) and to their history rows, so that rows which only
survive in history (an interaction moved away, a tag removed) are found too.

Export and erasure both walk these parts; nothing else decides what "the subject" is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import models
from django.db.models import Q

from compliance.models import ConsentRecord, SubjectRequest
from crm.models import AICall, Contract, Opportunity, Proposal, ProposalLineItem, Task
from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag, Tag
from mailing.models import EmailMessage


def history_model(model: type[models.Model]) -> type[models.Model] | None:
    manager = getattr(model._meta, "simple_history_manager_attribute", None)
    return getattr(model, manager).model if manager else None


def stored_fields(model: type[models.Model]) -> list[str]:
    """Column attributes of `model`, without generated columns (search vectors)."""
    return [
        f.attname for f in model._meta.concrete_fields if not isinstance(f, models.GeneratedField)
    ]


@dataclass(frozen=True)
class Part:
    """One model's share of the subject: rows and history rows matching `match`."""

    model: type[models.Model]
    match: Q
    organization_id: object

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    def rows(self) -> models.QuerySet:
        manager = getattr(self.model, "all_objects", self.model._base_manager)
        return manager.filter(self.match, organization_id=self.organization_id).order_by("pk")

    def history(self) -> models.QuerySet:
        historical = history_model(self.model)
        if historical is None:
            return self.model._base_manager.none()
        return historical.objects.filter(self.match, organization_id=self.organization_id).order_by(
            "history_date", "history_id"
        )


def _ids(model: type[models.Model], match: Q, organization_id, column: str = "id") -> set:
    """Values of `column` in current and history rows matching `match`."""
    found = set(
        model._base_manager.filter(match, organization_id=organization_id).values_list(
            column, flat=True
        )
    )
    historical = history_model(model)
    if historical is not None:
        found |= set(
            historical.objects.filter(match, organization_id=organization_id).values_list(
                column, flat=True
            )
        )
    return found - {None}


def _merged_closure(lead: Lead) -> set:
    """The lead and every lead merged into it, directly or through another merge."""
    found, frontier = {lead.pk}, {lead.pk}
    while frontier:
        frontier = (
            set(Lead.all_objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
            - found
        )
        found |= frontier
    return found


@dataclass(frozen=True)
class Subject:
    lead: Lead
    lead_ids: frozenset
    parts: tuple[Part, ...]

    def part(self, model: type[models.Model]) -> Part:
        return next(p for p in self.parts if p.model is model)

    def __iter__(self) -> Iterator[Part]:
        return iter(self.parts)


def subject_of(lead: Lead) -> Subject:
    """The subject of `lead`, in the current organization context."""
    org = lead.organization_id
    leads = _merged_closure(lead)
    by_lead = Q(lead_id__in=leads)
    companies = _ids(Lead, Q(id__in=leads), org, "company_id")
    tags = _ids(LeadTag, by_lead, org, "tag_id")
    opportunities = _ids(Opportunity, by_lead, org)
    proposals = _ids(Proposal, Q(opportunity_id__in=opportunities), org)
    calls = _ids(AICall, by_lead, org)
    matches: Iterable[tuple[type[models.Model], Q]] = (
        (Lead, Q(id__in=leads)),
        (Company, Q(id__in=companies)),
        (Tag, Q(id__in=tags)),
        (LeadTag, by_lead),
        (Interaction, by_lead),
        (LeadEnrichment, by_lead),
        (Opportunity, Q(id__in=opportunities)),
        (Proposal, Q(id__in=proposals)),
        (ProposalLineItem, Q(proposal_id__in=proposals)),
        (Contract, Q(opportunity_id__in=opportunities)),
        (AICall, Q(id__in=calls)),
        (Task, by_lead | Q(opportunity_id__in=opportunities) | Q(ai_call_id__in=calls)),
        (ConsentRecord, by_lead),
        (SubjectRequest, by_lead),
        (EmailMessage, by_lead),
    )
    return Subject(
        lead=lead,
        lead_ids=frozenset(leads),
        parts=tuple(Part(model, match, org) for model, match in matches),
    )
