"""Telling an organization's admins that one of their webhook endpoints was disabled:
an email through Django's email backend, beside the in-app notification
(`notifications.events.endpoint_disabled`)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from accounts.selectors import active_admins


def admin_emails() -> list[str]:
    """The current organization's active admins' addresses (read in its context)."""
    return sorted(active_admins().exclude(user__email="").values_list("user__email", flat=True))


def endpoint_disabled(endpoint, recipients: list[str], reason: str) -> None:
    if not recipients:
        return
    send_mail(
        subject="A webhook endpoint was disabled",
        message=(
            f"The webhook endpoint {endpoint.url} {reason} and was disabled.\n\n"
            "Its undelivered events are kept for a day: fix the receiver, then enable the"
            " endpoint again in the admin or through the API."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
