"""Kinds of identity provider, and where the preconfigured ones publish their metadata."""

from __future__ import annotations

from django.db import models


class ProviderKind(models.TextChoices):
    GOOGLE = "google", "Google"
    MICROSOFT = "microsoft", "Microsoft Entra ID"
    OIDC = "oidc", "Any OpenID Connect provider"


GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"
# Microsoft's "common" endpoint publishes an issuer template, which no ID token matches:
# a Microsoft provider names its directory (tenant id or primary domain).
MICROSOFT_DISCOVERY_URL = (
    "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
)
