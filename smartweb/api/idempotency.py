"""`Idempotency-Key` on POST: a retried request gets the first one's answer.

The key is claimed by inserting its row in the request's transaction. A concurrent retry
inserting the same key waits on the unique index until the first request ends: then it
finds the stored answer (first committed) or claims the key itself (first rolled back,
so nothing of it was written). Refused requests roll back, so only answers whose writes
were committed are replayed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts.models import IdempotentRequest
from smartweb.api.errors import IdempotencyKeyReused
from smartweb.tenancy.context import current_organization_id

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Location", "ETag")


class Replay(Exception):  # noqa: N818  (control flow: the answer is already known)
    def __init__(self, response: Response):
        self.response = response


def claim(request) -> IdempotentRequest | None:
    """The claimed key of this POST (None without a key). Raises `Replay` with the first
    answer for a retry, `IdempotencyKeyReused` for another request under the same key."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or not request.user.is_authenticated:
        return None
    if not 0 < len(key) <= 255:
        raise ValidationError({HEADER: ["Give a key of 1 to 255 characters."]})
    row = IdempotentRequest(
        organization_id=current_organization_id(),
        user=request.user,
        key=key,
        endpoint=request.path[:300],
        fingerprint=_fingerprint(request),
        expires_at=timezone.now() + dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
    )
    first = claim_or_first(row)
    if first is None:
        return row
    if first.fingerprint != row.fingerprint:
        raise IdempotencyKeyReused()
    headers = {**first.response_headers, REPLAYED_HEADER: "true"}
    raise Replay(Response(first.response_body, status=first.status_code, headers=headers))


def claim_or_first(row: IdempotentRequest) -> IdempotentRequest | None:
    """None when `row` claims its key now, else the key's first claim (an expired one is
    replaced by `row`). Waits while the first claim's request is still in flight."""
    if _insert(row):
        return None
    first = IdempotentRequest.objects.get(**_identity(row))
    if first.expires_at <= timezone.now():
        first.delete()
        if _insert(row):
            return None
        first = IdempotentRequest.objects.get(**_identity(row))
    return first


def remember(row: IdempotentRequest, response) -> None:
    """Store the answer with the claim, in the same transaction as the request's writes."""
    row.status_code = response.status_code
    data = getattr(response, "data", None)
    row.response_body = None if data is None else json.loads(JSONRenderer().render(data))
    row.response_headers = {name: response[name] for name in KEPT_HEADERS if name in response}
    row.save(update_fields=["status_code", "response_body", "response_headers", "updated_at"])


def _identity(row: IdempotentRequest) -> dict:
    return {
        "organization_id": row.organization_id,
        "user": row.user,
        "key": row.key,
        "endpoint": row.endpoint,
    }


def _insert(row: IdempotentRequest) -> bool:
    """Insert the claim unless the key is taken (waiting for a first request in flight)."""
    now = timezone.now()
    table = IdempotentRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (id, organization_id, user_id, key, endpoint, fingerprint,'
            " response_headers, expires_at, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, '{}', %s, %s, %s)"
            " ON CONFLICT (organization_id, user_id, key, endpoint) DO NOTHING RETURNING id",
            [
                row.pk,
                row.organization_id,
                row.user.pk,
                row.key,
                row.endpoint,
                row.fingerprint,
                row.expires_at,
                now,
                now,
            ],
        )
        inserted = cursor.fetchone() is not None
    if inserted:
        row.created_at = row.updated_at = now
        row._state.adding = False
    return inserted


def _fingerprint(request) -> str:
    """A SHA-256 of the request's input: its parsed data, files by their content."""
    data = request.data
    if hasattr(data, "lists"):
        return fingerprint_of(data.lists())
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def fingerprint_of(fields: Iterable[tuple[str, list]]) -> str:
    """A SHA-256 of a form's input, (name, values) pairs in any order: files by their
    content."""
    digest = hashlib.sha256()
    for name, values in sorted(fields, key=lambda field: field[0]):
        digest.update(name.encode())
        for value in values:
            digest.update(b"\0")
            if isinstance(value, UploadedFile):
                digest.update((value.name or "").encode())
                for chunk in value.chunks():
                    digest.update(chunk)
                value.seek(0)
            else:
                digest.update(str(value).encode())
    return digest.hexdigest()
