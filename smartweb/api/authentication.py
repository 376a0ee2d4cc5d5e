"""API token authentication within the token's own organization.

`Authorization: Bearer swt_<organization hex>_<secret>` (or `Token …`). The organization
id in the token lets us enter that organization's RLS context before looking the token
up by its hash: tokens are tenant rows like any other.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import APIToken, hash_token
from smartweb.tenancy import context

KEYWORDS = (b"bearer", b"token")
# `last_used_at` is kept to the minute: a write (and a lock on the token's row, shared by
# a client's concurrent requests) on every read request costs more than it tells.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def parse_organization(raw: str) -> uuid.UUID | None:
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != APIToken.PREFIX:
        return None
    try:
        return uuid.UUID(hex=parts[1])
    except ValueError:
        return None


def lookup_token(raw: str) -> APIToken | None:
    """The usable token for `raw`, with the DB context left on its organization."""
    organization_id = parse_organization(raw)
    if organization_id is None:
        return None
    context.activate(organization_id=organization_id)
    token = (
        APIToken.objects.select_related("user", "organization")
        .filter(key_hash=hash_token(raw))
        .first()
    )
    if token is None or not token.is_usable:
        context.activate(organization_id=None)
        return None
    return token


class OrganizationTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed token.") from exc
        token = lookup_token(raw)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
