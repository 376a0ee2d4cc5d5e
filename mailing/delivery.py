"""Delivering queued messages through Django's email backend (SMTP in production, the
console on `make run`), in the current organization's context.

The row is locked while it is sent, so two jobs never send one message; a message is
marked sent in the transaction that sent it. A worker that dies between the server's
acceptance and that commit sends it again on the retry: at least once, never lost.
A temporary failure (connection, timeout, 4xx) is retried with exponential backoff up to
EMAIL_SEND_ATTEMPTS; a permanent refusal (5xx) fails the message at once, and so does a
message that cannot be written at all (a header with a line break, an address that
cannot be encoded, no SITE_URL for its unsubscribe link): its reason is kept, and the
job ends normally, so that the message is not tried again every minute.
"""

from __future__ import annotations

import datetime as dt
import smtplib

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from attachments import files
from mailing import unsubscribe
from mailing.choices import MessageStatus
from mailing.models import EmailMessage

BACKOFF = dt.timedelta(minutes=1)
ERROR_LENGTH = 500
SEND_FIELDS = ["attempts", "status", "sent_at", "next_attempt_at", "last_error", "updated_at"]


def due(now: dt.datetime | None = None) -> QuerySet[EmailMessage]:
    """Queued messages whose (next) attempt is due."""
    return EmailMessage.objects.filter(
        status=MessageStatus.QUEUED, next_attempt_at__lte=now or timezone.now()
    )


def build(message: EmailMessage, connection=None) -> mail.EmailMessage:
    """The stored message as Django's email, its Message-ID the one replies will name,
    with the recipient's unsubscribe link in its headers and under its text (made now,
    not stored: the log keeps what was written)."""
    link = unsubscribe.link_for(message)
    headers = {"Message-ID": message.message_id, **unsubscribe.headers(link)}
    if message.in_reply_to:
        headers |= {"In-Reply-To": message.in_reply_to, "References": message.in_reply_to}
    email = mail.EmailMessage(
        subject=message.subject,
        body=f"{message.body}\n\n{unsubscribe.footer(link, message.organization.name)}",
        from_email=message.from_email,
        to=[message.to_email],
        reply_to=[message.reply_to] if message.reply_to else None,
        headers=headers,
        connection=connection,
    )
    if message.attachment_id:
        stored = message.attachment
        with files.storage().open(stored.file, "rb") as handle:
            email.attach(stored.original_name, handle.read(), stored.content_type)
    return email


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, ValueError):  # the message's own fault (BadHeaderError is one)
        return True
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [answer[0] for answer in exc.recipients.values()]
        return all(500 <= c < 600 for c in codes)
    return code is not None and 500 <= code < 600


def _record_failure(message: EmailMessage, exc: Exception, now: dt.datetime) -> None:
    message.last_error = f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]
    if _permanent(exc) or message.attempts >= settings.EMAIL_SEND_ATTEMPTS:
        message.status = MessageStatus.FAILED
        message.next_attempt_at = None
    else:
        message.next_attempt_at = now + BACKOFF * 2 ** (message.attempts - 1)


@transaction.atomic
def deliver(*, message_id, connection=None) -> str:
    """Send one queued message; its status afterwards ('' when it was not queued or is
    being sent by another job now)."""
    message = (
        EmailMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("attachment", "organization")
        .filter(pk=message_id, status=MessageStatus.QUEUED)
        .first()
    )
    if message is None:
        return ""
    now = timezone.now()
    message.attempts += 1
    # The backend is made first: a bad setting is the job's error, not this message's.
    if connection is None:
        connection = mail.get_connection()
    try:
        build(message, connection).send()
    except (ValueError, smtplib.SMTPException, OSError) as exc:
        _record_failure(message, exc, now)
    else:
        message.status = MessageStatus.SENT
        message.sent_at = now
        message.next_attempt_at = None
        message.last_error = ""
    message.save(update_fields=SEND_FIELDS)
    return message.status
