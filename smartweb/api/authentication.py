"""API token authentication within the token's own organization.

`Authorization: Bearer swt_<organization hex>_<secret>` (or `Token …`). The organization
id in the token lets us enter that organization's RLS context before looking the token
up by its hash: tokens are tenant rows like any other.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid

from django.db import DEFAULT_DB_ALIAS, connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts import two_factor
from accounts.models import (
    APIToken,
    Membership,
    Organization,
    User,
    hash_token,
)
from smartweb import access
from smartweb.platform_reach import confine
from smartweb.tenancy import context
from sso import policy
from sso.models import IdentityProvider

KEYWORDS = (b"bearer", b"token")
SECOND_FACTOR_REFUSAL = (
    "Your organization requires two-factor authentication, and this token was created "
    "without it: create a new one with your second factor (otp_code)."
)
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


# Parts of the look-up row: each model's concrete columns, in order, under the name of
# its whole row in the look-up function's result.
_PARTS = (
    (APIToken, "r_token"),
    (User, "r_user"),
    (Organization, "r_organization"),
    (Membership, "r_membership"),
    (IdentityProvider, "r_provider"),
)


@functools.cache
def _lookup_statement() -> str:
    """The token, its user and organization, the user's membership there with its role's
    grants and whether the user holds object grants, and the organization's identity
    provider (one per organization, so the row stays one): one statement, in the token's
    organization context (the policies apply as to any query), instead of five ORM
    queries whose building cost more than their execution. Through a PL/pgSQL function
    (accounts 0015) whose plan the server keeps: planned on each request, the seven
    relations under their policies took longer to plan than to read."""
    columns = ", ".join(
        f'(f.{part})."{field.column}"' for model, part in _PARTS for field in _fields(model)
    )
    return (
        f"SELECT {columns}, f.r_role_grants, f.r_object_grants FROM smartweb_token_lookup(%s, %s) f"
    )


def _fields(model):
    return model._meta.concrete_fields


def _converted(field, value):
    """The value as the ORM reads it: a raw row skips the fields' converters (a JSON
    column would stay text)."""
    for convert in field.get_db_converters(connection):
        value = convert(value, field, connection)
    return value


def _instances(row) -> list:
    """The row's model instances (None for a missing membership) and its remaining values."""
    instances, start = [], 0
    for model, _ in _PARTS:
        fields = _fields(model)
        values = row[start : start + len(fields)]
        values = [_converted(f, v) for f, v in zip(fields, values, strict=True)]
        start += len(fields)
        exists = values[fields.index(model._meta.pk)] is not None
        instances.append(
            model.from_db(DEFAULT_DB_ALIAS, [f.attname for f in fields], values) if exists else None
        )
    return [*instances, *row[start:]]


def lookup_token(raw: str) -> APIToken | None:
    """The usable token of an active user for `raw`, with the context (the database's
    and this process's) left on its organization, user and membership.

    `token.user` and `token.organization` are loaded, `token.membership` is the user's
    membership there (None if there is none) and `token.sso_provider` the organization's
    identity provider (None if it has none); the membership's role grants and the
    object-grant flag are handed to the permission service. The function sets the
    database's context itself (accounts 0016); a refused token leaves none."""
    organization_id = parse_organization(raw)
    if organization_id is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_lookup_statement(), [organization_id, hash_token(raw)])
        row = cursor.fetchone()
    if row is None:
        context.activate(organization_id=None)
        return None
    token, user, organization, membership, provider, role_grants, object_grants = _instances(row)
    if not (token.is_usable and user.is_active):
        context.activate(organization_id=None)
        return None
    token.user, token.organization, token.membership = user, organization, membership
    token.sso_provider = provider
    if membership is not None:
        access.preload(user, membership, role_rows=role_grants, has_object_grants=object_grants)
    context.adopt(organization_id=organization_id, user=user, membership=membership)
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
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        if policy.token_needs_sso(token, token.sso_provider):
            policy.audit_token_refused(request, token)
            context.activate(organization_id=None)
            raise exceptions.PermissionDenied(policy.CREDENTIAL_REFUSAL, code="sso_required")
        if two_factor.token_lacks_second_factor(token):
            context.activate(organization_id=None)
            raise exceptions.PermissionDenied(SECOND_FACTOR_REFUSAL, code="second_factor_required")
        if token.confined:
            confine(token.user, token.organization_id)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
