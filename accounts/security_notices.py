"""Emails that tell a user of a change to how they sign in, so that a change they did not
make (someone else in their session, or with their password) does not go unnoticed. Each
says what changed and when, and what to do if it was not them; never a secret. Sent when
the change commits: nothing is said of one rolled back."""

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
TELL_THE_ADMINISTRATOR = "tell your organization's administrator at once"


def _notify(user: User, *, subject: str, change: str, outcome: str, if_not_you: str) -> None:
    """Email `user` that `change` (a sentence's subject and verb, naming the account)
    happened now, what followed from it (`outcome`), and what to do `if_not_you` made or
    asked for it."""
    message = f"{change} on {timezone.now():%Y-%m-%d %H:%M} UTC. {outcome}\n\n{if_not_you}"
    transaction.on_commit(
        lambda: send_mail(
            subject=subject, message=message, from_email=None, recipient_list=[user.email]
        )
    )


def _account(user: User) -> str:
    return f"your SmartWeb CRM account {user.email}"


def authenticator_replaced(user: User, *, proof: str) -> None:
    _notify(
        user,
        subject="Your two-factor authenticator was replaced",
        change=f"The authenticator app of {_account(user)} was replaced",
        outcome=(
            f"It was proven with {PROOF_WORDS[proof]}. The previous authenticator and your "
            "previous recovery codes no longer work, and your other devices were signed out."
        ),
        if_not_you=(
            "If you did not do this, someone else can sign in as you: change your password "
            f"and {TELL_THE_ADMINISTRATOR}."
        ),
    )


def password_changed(user: User, *, reset_by_admin: bool = False) -> None:
    """The user's password was changed: by themselves, or (`reset_by_admin`) set or turned
    off by a platform super admin."""
    subject = "Your password was changed"
    if not reset_by_admin:
        _notify(
            user,
            subject=subject,
            change=f"The password of {_account(user)} was changed",
            outcome="Your other devices were signed out.",
            if_not_you=(
                "If you did not do this, someone else knows your password: "
                f"{TELL_THE_ADMINISTRATOR}, who can have a new one set for you and every "
                "device signed out."
            ),
        )
        return
    if user.has_usable_password():
        change = f"The password of {_account(user)} was reset by a platform administrator"
    else:
        change = f"Password sign-in to {_account(user)} was turned off by a platform administrator"
    _notify(
        user,
        subject=subject,
        change=change,
        outcome="Every device you were signed in on was signed out.",
        if_not_you=f"If you did not ask for this, {TELL_THE_ADMINISTRATOR}.",
    )
