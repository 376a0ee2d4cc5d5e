"""The unsubscribe link of every email to a lead: the `List-Unsubscribe` header (RFC 2369)
with its one-click POST (RFC 8058), the same link at the foot of the text, and the token
the link carries (ADR 0042). The opt-out the link records is `mailing.optout`.

The token is signed (`django.core.signing`, with a salt of its own, as invitation links
are) and names the organization, the lead and the address. The address travels as the
suppression list's digest of it (`compliance.suppression.value_hash`, salted with the
organization), so the URL holds no address in clear and the opt-out can list it without
reading any row. A forged or altered token is refused before any look-up, and the
organization it names is the context its opt-out runs in: a token of one organization
cannot reach another's rows. A token is good for `UNSUBSCRIBE_LINK_DAYS`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse

from compliance.choices import SuppressionKind
from compliance.suppression import value_hash

SALT = "mailing.unsubscribe"
ONE_CLICK = "List-Unsubscribe=One-Click"
# Longer than any token this module makes: anything else is refused unread.
TOKEN_MAX_LENGTH = 400
_DIGEST = re.compile(r"[0-9a-f]{64}")
SITE_URL_MISSING = (
    "Email to leads is not set up: SITE_URL (the site's address, such as "
    "https://crm.example.com) is needed for the unsubscribe link every email carries."
)


class NoSiteURL(ValueError):
    """A message cannot carry its unsubscribe link; a ValueError, so the send job fails
    it for good with this reason (mailing.delivery)."""

    def __init__(self):
        super().__init__(SITE_URL_MISSING)


@dataclass(frozen=True)
class Optout:
    """What a valid token names."""

    organization_id: uuid.UUID
    lead_id: uuid.UUID
    digest: str  # the address, as the suppression list stores it


def lifetime() -> dt.timedelta:
    return dt.timedelta(days=settings.UNSUBSCRIBE_LINK_DAYS)


def require_site_url() -> None:
    """Refuse to queue mail that could not carry its unsubscribe link."""
    if not settings.SITE_URL:
        raise ValidationError(SITE_URL_MISSING, code="no_site_url")


def token_for(message) -> str:
    """The token of a message's recipient, in the message's organization (the current
    context: the address's digest is salted with it)."""
    digest = value_hash(SuppressionKind.EMAIL, message.to_email)
    return signing.dumps(
        [message.organization_id.hex, message.lead_id.hex, digest], salt=SALT, compress=True
    )


def link_for(message) -> str:
    if not settings.SITE_URL:
        raise NoSiteURL()
    return settings.SITE_URL + reverse("email-unsubscribe", args=[token_for(message)])


def headers(link: str) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": ONE_CLICK}


def footer(link: str, organization_name: str) -> str:
    """The line under the text ("-- " opens a signature, which mail readers set apart)."""
    return f"-- \nTo receive no more email from {organization_name}, unsubscribe: {link}"


def read(token: str) -> Optout | None:
    """What a token names, or None for one that is not ours, altered, or expired."""
    if len(token) > TOKEN_MAX_LENGTH:
        return None
    try:
        organization, lead, digest = signing.loads(token, salt=SALT, max_age=lifetime())
        optout = Optout(uuid.UUID(organization), uuid.UUID(lead), str(digest))
    except (signing.BadSignature, TypeError, ValueError):
        return None
    return optout if _DIGEST.fullmatch(optout.digest) else None
