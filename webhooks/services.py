"""Writes of webhook endpoints, for the API and the admin alike: the organization's
admins only (the `webhooks` permission), the URL and event types checked, the secret
stored encrypted, history kept. Bad input is a ValidationError and writes nothing."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.crypto import encrypt
from accounts.models import User
from smartweb import access
from smartweb.outbound import RefusedURL, check_url
from smartweb.rbac import Action, Resource
from smartweb.writes import locked, save_changed, values_of
from webhooks import backlog, outbox
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, Endpoint

ENDPOINT_FIELDS = {"url", "description", "event_types", "is_active", "secret"}
SECRET_MIN_LENGTH = 16
URL_MAX_LENGTH = 500
RETRIES_RAN_OUT = "Its day of retries ran out while the endpoint was disabled."


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


@transaction.atomic
def endpoint_create(
    *,
    acting_user: User | None,
    url: str,
    event_types: list[str],
    description: str = "",
    secret: str = "",
    is_active: bool = True,
) -> tuple[Endpoint, str]:
    """A new endpoint; returns it and its secret (the one given, or a new one), which is
    shown this once."""
    access.require(acting_user, Action.CREATE, Resource.WEBHOOKS)
    secret = secret or new_secret()
    endpoint = Endpoint()
    _apply(
        endpoint,
        {
            "url": url,
            "event_types": event_types,
            "description": description,
            "secret": secret,
            "is_active": is_active,
        },
    )
    endpoint.save()
    return endpoint, secret


@transaction.atomic
def endpoint_update(*, endpoint: Endpoint, acting_user: User | None, **changes) -> Endpoint:
    """Change an endpoint; enabling a disabled one starts its failure count afresh."""
    access.require(acting_user, Action.UPDATE, Resource.WEBHOOKS, endpoint)
    endpoint = locked(endpoint)
    before = values_of(endpoint)
    _apply(endpoint, changes)
    enabled = endpoint.is_active and not before["is_active"]
    if enabled:
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
        endpoint.disabled_at = None
    save_changed(endpoint, before)
    if enabled:
        _send_waiting_now(endpoint)
    return endpoint


def _send_waiting_now(endpoint: Endpoint) -> None:
    """Enabled again, the receiver is taken to be mended: what waits is sent at once,
    oldest event first (`backlog.send_waiting_now`), its drain queued. Those whose day
    of retries ran out while the endpoint was off fail, as they would have."""
    window_start = timezone.now() - dt.timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    backlog.waiting(endpoint.pk).filter(event__created_at__lt=window_start).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=RETRIES_RAN_OUT
    )
    backlog.send_waiting_now(endpoint.pk)
    outbox.nudge_on_commit(endpoint.organization_id, endpoint.pk)


@transaction.atomic
def endpoint_delete(*, endpoint: Endpoint, acting_user: User | None) -> None:
    """Move the endpoint to the trash; what it had still to receive is given up."""
    access.require(acting_user, Action.DELETE, Resource.WEBHOOKS, endpoint)
    endpoint.delete()
    # A delivery being sent this moment is skipped, not waited for: its drain is about
    # to lock the endpoint's row, which this transaction holds (a deadlock). It stays
    # pending, and no drain takes a deleted endpoint's deliveries.
    waiting = backlog.waiting(endpoint.pk).select_for_update(skip_locked=True)
    Delivery.objects.filter(pk__in=list(waiting.values_list("pk", flat=True))).update(
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        last_error="The endpoint was deleted.",
    )


def _apply(endpoint: Endpoint, changes: dict[str, Any]) -> None:
    """Set the changed fields, all checked first: one error or more raises them all."""
    unknown = set(changes) - ENDPOINT_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be set."))
    errors: dict[str, list[str]] = {}
    if "url" in changes:
        url = (changes["url"] or "").strip()
        try:
            if len(url) > URL_MAX_LENGTH:
                raise RefusedURL(f"A URL has at most {URL_MAX_LENGTH} characters.")
            check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
        except RefusedURL as exc:
            errors["url"] = [str(exc)]
        endpoint.url = url
    if "event_types" in changes:
        types = list(dict.fromkeys(changes["event_types"] or []))
        wrong = [t for t in types if t not in EventType.values]
        if wrong or not types:
            errors["event_types"] = [
                f"Unknown event type: {', '.join(map(str, wrong))}. One or more of:"
                f" {', '.join(EventType.values)}."
                if wrong
                else "Subscribe to at least one event type."
            ]
        endpoint.event_types = types
    if "secret" in changes:
        secret = changes["secret"] or ""
        if len(secret) < SECRET_MIN_LENGTH:
            errors["secret"] = [f"A secret has at least {SECRET_MIN_LENGTH} characters."]
        else:
            endpoint.secret_encrypted = encrypt(secret)
    if "description" in changes:
        endpoint.description = (changes["description"] or "").strip()
    if "is_active" in changes:
        endpoint.is_active = bool(changes["is_active"])
    if errors:
        raise ValidationError(errors)
