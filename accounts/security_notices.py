"""Emails that tell a user of a change to how they sign in, so that a change they did not
make (someone else in their session) does not go unnoticed. Sent when the change
commits: nothing is said of one rolled back."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User

# How a replacement of the authenticator was proven (two_factor.Proof), in words.
PROOF_WORDS = {
    "authenticator": "a code of the previous authenticator",
    "recovery_code": "one of your recovery codes",
}


def _send_on_commit(user: User, subject: str, message: str) -> None:
    transaction.on_commit(
        lambda: send_mail(
            subject=subject, message=message, from_email=None, recipient_list=[user.email]
        )
    )


def authenticator_replaced(user: User, *, proof: str) -> None:
    now = timezone.now()
    _send_on_commit(
        user,
        "Your two-factor authenticator was replaced",
        f"The authenticator app of your SmartWeb CRM account {user.email} was replaced on "
        f"{now:%Y-%m-%d %H:%M} UTC, proven with {PROOF_WORDS[proof]}. The previous "
        "authenticator and your previous recovery codes no longer work.\n\n"
        "If you did not do this, someone else can sign in as you: change your password "
        "and tell your organization's administrator.",
    )
