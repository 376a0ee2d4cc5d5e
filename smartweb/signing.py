"""Webhook signatures, one implementation for both directions: the AI call provider's
results coming in (crm.api.webhooks) and the organization's events going out (webhooks).

A signed request carries the Unix time it was signed at (`X-Timestamp`) and
`X-Signature: sha256=<hex>`, the HMAC-SHA256 with the shared secret over
`timestamp + "." + body`. The receiver refuses a signature older (or newer) than the
tolerance, so that a captured request cannot be replayed later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
TOLERANCE = dt.timedelta(minutes=5)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `timestamp + "." + body`, hex."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The two headers that sign `body` now (or at `timestamp`)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: "sha256=" + signature(secret, stamp, body),
    }


def verify(*, secret: str, timestamp: str, given: str, body: bytes, now: dt.datetime) -> bool:
    """Is `given` (the `X-Signature` value) this body's signature with `secret`, and was it
    signed within the tolerance of `now`?"""
    try:
        sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return False
    if abs(now - sent) > TOLERANCE:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, given.removeprefix("sha256=").strip())
