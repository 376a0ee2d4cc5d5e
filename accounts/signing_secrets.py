"""An organization's secret for a signed inbound webhook (the AI call provider's, the
email provider's): one row per organization of a model with `secret_encrypted` and
`rotated_at`, replaced by `rotate` and checked by `verify` (smartweb.signing)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.utils import timezone

from accounts.audit import record_audit_event
from accounts.crypto import decrypt, encrypt
from smartweb import access, signing
from smartweb.rbac import Action
from smartweb.tenancy.context import current_organization_id


def rotate(model, *, acting_user, resource: str, audit_action: str) -> str:
    """A new secret (returned once, stored encrypted); whoever may update `resource` for
    the whole organization may replace it: it signs for every row of the organization.
    Call inside a transaction.

    The organization's first secret, created by two people at once, is made once: the
    later one's insert waits for the first's and does nothing (ON CONFLICT), and it is
    answered with the secret the first made rather than replacing it, which would stop
    the secret the first was just shown."""
    access.require_organization_wide(acting_user, Action.UPDATE, resource)
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    row = model.objects.select_for_update().first()
    if row is None:
        first = model(
            organization_id=current_organization_id(),
            secret_encrypted=encrypt(secret),
            rotated_at=timezone.now(),
        )
        model.objects.bulk_create([first], ignore_conflicts=True)
        row = model.objects.get()
        if row.pk != first.pk:
            return decrypt(row.secret_encrypted)
    else:
        row.secret_encrypted = encrypt(secret)
        row.rotated_at = timezone.now()
        row.save()
    record_audit_event(action=audit_action, actor=acting_user, target=row)
    return secret


def verify(
    model, *, timestamp: str, signature: str, body: bytes, now: dt.datetime | None = None
) -> bool:
    """Is this delivery signed with the current organization's secret, and fresh?"""
    row = model.objects.first()
    if row is None:
        return False
    return signing.verify(
        secret=decrypt(row.secret_encrypted),
        timestamp=timestamp,
        given=signature,
        body=body,
        now=now or timezone.now(),
    )
