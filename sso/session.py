"""Which sessions were signed in through an identity provider.

The session keeps the organization whose provider signed it in. A sign-in by any other
means (a password) drops the mark, so a password session is never taken for an SSO one.
Where a second factor follows the provider, the mark is held for that user until the
second step signs the session in.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

SESSION_KEY = "smartweb_sso"
HELD_KEY = "smartweb_sso_held"


def _mark(user, organization_id, provider_id) -> dict:
    return {
        "user": str(user.pk),
        "organization": str(organization_id),
        "provider": str(provider_id),
    }


def hold(request, user, organization_id, provider_id) -> None:
    """Signed in by the provider; the second factor is still to come."""
    request.session[HELD_KEY] = _mark(user, organization_id, provider_id)


def sign_in_mark(request, user, organization_id, provider_id) -> None:
    """Called just before `login()` of a provider sign-in."""
    request.sso_sign_in = _mark(user, organization_id, provider_id)


def signed_in_through(request) -> dict | None:
    """The mark of the request's session, if it was signed in through a provider."""
    session = getattr(request, "session", None)
    value = session.get(SESSION_KEY) if session is not None else None
    user = getattr(request, "user", None)
    if not value or user is None or value.get("user") != str(user.pk):
        return None
    return value


@receiver(user_logged_in, dispatch_uid="sso.mark_session")
def mark_session(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    held = session.pop(HELD_KEY, None)
    value = getattr(request, "sso_sign_in", None)
    if value is None and held and held.get("user") == str(user.pk):
        value = held
    if value is None:
        session.pop(SESSION_KEY, None)
    else:
        session[SESSION_KEY] = value
