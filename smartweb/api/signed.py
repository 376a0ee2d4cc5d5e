"""Signed deliveries from a provider (no user signs in): the provider names the
organization (`X-Organization`: id or slug), and the body is signed with that
organization's secret (smartweb.signing). One check for every inbound webhook: the AI
call provider's (crm.api.webhooks) and the email provider's (mailing.api.inbound)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions

from accounts.models import Organization
from accounts.tenancy import find_organization
from smartweb.tenancy.context import tenant_context

SIGNATURE_HEADER = "HTTP_X_SIGNATURE"
TIMESTAMP_HEADER = "HTTP_X_TIMESTAMP"
ORGANIZATION_HEADER = "HTTP_X_ORGANIZATION"
SIGNED_HEADERS = [
    OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)
    for name in ("X-Organization", "X-Timestamp", "X-Signature")
]


@contextmanager
def signed_delivery(request, *, verify: Callable[..., bool]) -> Iterator[Organization]:
    """Inside the named organization's context, once `verify(timestamp=, signature=,
    body=)` accepts the delivery; 401 (and nothing written) otherwise. An unknown or
    inactive organization gets the same answer as a bad signature."""
    meta = request.META
    named = meta.get(ORGANIZATION_HEADER, "").strip()
    organization = find_organization(named) if named else None
    if organization is None or not organization.is_active:
        raise exceptions.AuthenticationFailed("Invalid signature.")
    with tenant_context(organization):
        if not verify(
            timestamp=meta.get(TIMESTAMP_HEADER, ""),
            signature=meta.get(SIGNATURE_HEADER, ""),
            body=request.body,
        ):
            raise exceptions.AuthenticationFailed("Invalid or stale signature.")
        yield organization
