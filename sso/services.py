"""Writing an organization's identity provider (the admin calls these)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts import crypto
from accounts.audit import AuditAction, record_audit_event
from accounts.models import User
from accounts.services import may_change_organization
from smartweb import access
from smartweb.outbound import RefusedURL, check_url
from smartweb.rbac import Action, Resource
from sso.choices import ProviderKind
from sso.models import IdentityProvider

PROVIDER_FIELDS = (
    "name",
    "kind",
    "discovery_url",
    "microsoft_tenant",
    "client_id",
    "email_domains",
    "required_emails",
    "sso_required",
    "is_active",
)


def _domains(values) -> list[str]:
    domains = []
    for value in values or []:
        domain = value.strip().lower().lstrip("@")
        if not domain or "." not in domain or "@" in domain or " " in domain:
            raise ValidationError({"email_domains": f"{value!r} is not an email domain."})
        domains.append(domain)
    return sorted(set(domains))


def _emails(values) -> list[str]:
    emails = []
    for value in values or []:
        email = value.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"required_emails": f"{value!r} is not an email."}) from None
        emails.append(email)
    return sorted(set(emails))


NOT_CONFIGURED_HERE = (
    "The identity provider signs in as the organization's members: it is set up by whoever"
    " may update the whole organization."
)


def may_configure(user: User | None, action: str = Action.UPDATE) -> bool:
    """May `user` create, change or delete (`action`) the organization's identity
    provider? It signs in as any member it covers, so it is the organization's own set-up:
    the right to change the whole organization (`may_change_organization`: organizations:
    update for all of it, which no role hands on beyond its giver's own), and `action`'s
    permission on the organization. None is the system."""
    return may_change_organization(user) and (
        user is None or access.can(user, action, Resource.ORGANIZATIONS)
    )


def _ensure_may_configure(user: User | None, action: str) -> None:
    if not may_configure(user, action):
        raise PermissionDenied(NOT_CONFIGURED_HERE)


# How the provider is reached, and the client it knows: a save that changes one of them
# (or the client secret) is checked against the provider; any other save (its email
# lists, "SSO required") is not, and goes through while the provider is out of reach.
PROVIDER_ENDPOINT_FIELDS = ("kind", "discovery_url", "microsoft_tenant", "client_id")


def reaches_provider(current: dict | None, values: dict, client_secret: str = "") -> bool:
    """Is a save of `values` over `current` (None: a new provider) checked against the
    provider (`PROVIDER_ENDPOINT_FIELDS`)?"""
    return (
        current is None
        or bool(client_secret)
        or any(values.get(name) != current.get(name) for name in PROVIDER_ENDPOINT_FIELDS)
    )


def provider_check(values: dict, *, reach: bool = True) -> dict:
    """The values normalized, or a ValidationError naming the field. With `reach`, the
    discovery URL's host is resolved too, to public addresses only (ADR 0033)."""
    values = {**values}
    kind = values.get("kind") or ProviderKind.OIDC
    if kind == ProviderKind.OIDC:
        url = values.get("discovery_url") or ""
        scheme = urlsplit(url).scheme
        if scheme != "https" and not (scheme == "http" and settings.SSO_ALLOW_HTTP):
            raise ValidationError(
                {
                    "discovery_url": "Enter the provider's https discovery URL "
                    "(…/.well-known/openid-configuration)."
                }
            )
        try:
            if reach:
                check_url(url, allow_private=settings.SSO_ALLOW_PRIVATE_ADDRESSES)
        except RefusedURL as exc:
            raise ValidationError({"discovery_url": str(exc)}) from None
    if kind == ProviderKind.MICROSOFT and not (values.get("microsoft_tenant") or "").strip():
        raise ValidationError(
            {"microsoft_tenant": "Enter the Microsoft directory (tenant id or domain)."}
        )
    if "email_domains" in values:
        values["email_domains"] = _domains(values["email_domains"])
    if "required_emails" in values:
        values["required_emails"] = _emails(values["required_emails"])
    return values


@transaction.atomic
def provider_save(
    *,
    provider: IdentityProvider | None,
    changes: dict,
    client_secret: str = "",
    acting_user: User | None,
    request=None,
) -> IdentityProvider:
    """Create (provider None) or change the organization's provider. The client secret
    is stored encrypted; empty keeps the current one (a new provider needs one)."""
    creating = provider is None
    _ensure_may_configure(acting_user, Action.CREATE if creating else Action.UPDATE)
    provider = provider or IdentityProvider()
    current = {name: getattr(provider, name) for name in PROVIDER_FIELDS}
    reach = reaches_provider(None if creating else current, {**current, **changes}, client_secret)
    values = provider_check({**current, **changes}, reach=reach)
    if creating and not client_secret:
        raise ValidationError({"client_secret": "Enter the client secret the provider gave."})
    changed = sorted(name for name in PROVIDER_FIELDS if values[name] != current[name])
    for name in PROVIDER_FIELDS:
        setattr(provider, name, values[name])
    if client_secret:
        provider.client_secret_encrypted = crypto.encrypt(client_secret)
        changed.append("client_secret")
    if not changed and not creating:
        return provider
    provider.save()
    record_audit_event(
        action=AuditAction.SSO_PROVIDER_CHANGED,
        actor=acting_user,
        target=provider,
        request=request,
        details={"created": creating, "fields": changed, "sso_required": provider.sso_required},
    )
    return provider


@transaction.atomic
def provider_delete(*, provider: IdentityProvider, acting_user: User | None, request=None) -> None:
    """Delete the organization's provider: sign-in through it ends, and so does the
    sign-in it required. Audited as a change of the set-up (recorded first: the row then
    has no id)."""
    _ensure_may_configure(acting_user, Action.DELETE)
    record_audit_event(
        action=AuditAction.SSO_PROVIDER_CHANGED,
        actor=acting_user,
        target=provider,
        request=request,
        details={"deleted": True, "sso_required": provider.sso_required},
    )
    provider.delete()
