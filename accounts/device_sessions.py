"""Signed-in devices: a `UserSession` per browser session, recorded at login, refreshed
while in use, and refused once revoked (the user lists and revokes them in the API)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import SESSION_KEY, logout, update_session_auth_hash
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import UserSession
from smartweb.origin import client_ip, user_agent

# last_seen_at is refreshed at most this often, not written on every request.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=5)


def _client(request) -> dict:
    return {"device": user_agent(request)[:255], "ip_address": client_ip(request)}


@receiver(user_logged_in, dispatch_uid="accounts.record_user_session")
def record_user_session(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    if session.session_key is None:
        session.save()
    UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "last_seen_at": timezone.now(),
            "revoked_at": None,
            **_client(request),
        },
    )


@receiver(user_logged_out, dispatch_uid="accounts.end_user_session")
def end_user_session(sender, request, user, **kwargs) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        UserSession.objects.filter(session_key=session_key, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )


class UserSessionMiddleware:
    """Logs out a request whose session was revoked; keeps last seen and IP current.

    Sits after AuthenticationMiddleware. Sessions without a `UserSession` row (none is
    recorded for them) pass unchanged.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self._check(request)
        return self.get_response(request)

    @staticmethod
    def _check(request) -> None:
        session = getattr(request, "session", None)
        if session is None or SESSION_KEY not in session or not session.session_key:
            return
        row = (
            UserSession.objects.filter(session_key=session.session_key)
            .only("user_id", "revoked_at", "last_seen_at")
            .first()
        )
        if row is None:
            return
        if row.revoked_at is not None or str(row.user_id) != str(session[SESSION_KEY]):
            logout(request)
            return
        now = timezone.now()
        if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
            UserSession.objects.filter(pk=row.pk).update(last_seen_at=now, **_client(request))


def sign_out_other_devices(user, *, keep_session_key: str | None) -> int:
    """End the user's signed-in devices but the session `keep_session_key` (the middleware
    logs a revoked session out at its next request); how many were ended."""
    return (
        UserSession.objects.filter(user=user, revoked_at__isnull=True)
        .exclude(session_key=keep_session_key or "")
        .update(revoked_at=timezone.now())
    )


def current_session_key(request) -> str | None:
    return getattr(getattr(request, "session", None), "session_key", None)


def keep_signed_in(request, user) -> None:
    """After `user` changed their password in this session: the session stays signed in
    (Django gives it a new key and the new password's hash) and its device row follows
    the new key, where the other sessions end."""
    old_key = request.session.session_key
    update_session_auth_hash(request, user)
    UserSession.objects.filter(session_key=old_key).update(session_key=request.session.session_key)
