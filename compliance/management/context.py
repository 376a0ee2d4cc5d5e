"""Finding the organization and the lead a compliance command acts on."""

from __future__ import annotations

import uuid

from django.core.management.base import CommandError

from accounts.models import Organization
from accounts.tenancy import find_organization
from leads.models import Lead


def organization_of(value: str) -> Organization:
    organization = find_organization(value)
    if organization is None:
        raise CommandError(f"No organization with id or slug '{value}'.")
    return organization


def lead_of(value: str) -> Lead:
    """The lead (deleted or not) in the current organization context."""
    try:
        pk = uuid.UUID(value)
    except ValueError as exc:
        raise CommandError(f"'{value}' is not a lead id.") from exc
    lead = Lead.all_objects.select_related("organization").filter(pk=pk).first()
    if lead is None:
        raise CommandError(f"No lead {value} in this organization.")
    return lead
