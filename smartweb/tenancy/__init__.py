"""Organization context: who the current tenant is, in Python and in the database."""

from smartweb.tenancy.context import (
    NoOrganizationContext,
    acting_user,
    current_membership,
    current_organization_id,
    platform_access,
    tenant_context,
)

__all__ = [
    "NoOrganizationContext",
    "acting_user",
    "current_membership",
    "current_organization_id",
    "platform_access",
    "tenant_context",
]
