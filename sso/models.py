"""An organization's identity provider for single sign-on (OpenID Connect)."""

from __future__ import annotations

import hashlib

from django.contrib.postgres.fields import ArrayField
from django.db import models

from smartweb.models import TenantModel
from smartweb.rbac import Resource
from sso.choices import GOOGLE_DISCOVERY_URL, MICROSOFT_DISCOVERY_URL, ProviderKind


class IdentityProvider(TenantModel):
    """The OpenID Connect provider the organization's members sign in with (one per
    organization). Its client secret is stored encrypted (accounts.crypto).

    `sso_required` makes sign-in through it the only way in for the members it covers:
    those whose email is in `email_domains` or in `required_emails`.
    """

    rbac_resource = Resource.ORGANIZATIONS
    encrypted_fields = ("client_secret_encrypted",)  # re-encrypted by rotate_encryption_key

    name = models.CharField(max_length=80, help_text='Shown on the button: "Sign in with …".')
    kind = models.CharField(max_length=20, choices=ProviderKind.choices, default=ProviderKind.OIDC)
    discovery_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="The provider's /.well-known/openid-configuration (any OpenID Connect "
        "provider); Google's and Microsoft's are known.",
    )
    microsoft_tenant = models.CharField(
        max_length=100, blank=True, help_text="Microsoft only: the directory's id or domain."
    )
    client_id = models.CharField(max_length=255)
    client_secret_encrypted = models.TextField(editable=False)
    email_domains = ArrayField(
        models.CharField(max_length=253),
        default=list,
        blank=True,
        help_text="The organization's email domains: only these emails link to an account "
        "(empty: any member's email).",
    )
    required_emails = ArrayField(
        models.EmailField(max_length=254),
        default=list,
        blank=True,
        help_text="Members who must sign in through the provider besides those of the "
        "email domains.",
    )
    sso_required = models.BooleanField(
        default=False,
        help_text="Members of the email domains and of the list may only sign in through "
        "the provider: password sign-in and token creation with a password are refused.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="identityprovider_one_per_org"),
            models.CheckConstraint(
                condition=models.Q(kind__in=ProviderKind.values), name="identityprovider_kind"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def metadata_url(self) -> str:
        if self.kind == ProviderKind.GOOGLE:
            return GOOGLE_DISCOVERY_URL
        if self.kind == ProviderKind.MICROSOFT:
            return MICROSOFT_DISCOVERY_URL.format(tenant=self.microsoft_tenant)
        return self.discovery_url

    def account_key(self, issuer: str) -> str:
        """`OAuthAccount.provider` of identities of this issuer: an OpenID subject is
        unique per issuer, so organizations using the same issuer share the link."""
        return f"oidc:{hashlib.sha256(issuer.encode()).hexdigest()[:32]}"

    def covers(self, email: str) -> bool:
        """Is `email` one of the emails the provider speaks for (its domains or list)?"""
        return covers_email(email, self.email_domains, self.required_emails)

    def may_link(self, email: str) -> bool:
        """May a verified `email` from this provider link to an account (ADR 0033)?"""
        domain = (email or "").rpartition("@")[2].lower()
        return not self.email_domains or domain in {d.lower() for d in self.email_domains}


def covers_email(email: str, domains: list[str], emails: list[str]) -> bool:
    """Is `email` in one of `domains` or among `emails` (a provider's lists)?"""
    email = (email or "").strip().lower()
    domain = email.rpartition("@")[2]
    return domain in {d.lower() for d in domains} or email in {e.lower() for e in emails}
