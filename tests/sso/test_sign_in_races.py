"""Two first sign-ins of one identity at once (two browsers, each its own connection,
committed): the first links the identity (and, invited, creates the account); the
second waits for it, then signs in to the same user through that link. Before, the
second failed on the link's unique key (a server error), or found the invitation used
up by the first and was refused as having no account."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import Invitation, Membership, Role, User
from smartweb.tenancy.context import tenant_context
from sso import signin
from tests.accounts.conftest import audit_rows
from tests.concurrency import Racer, wait_until_blocked
from tests.sso.conftest import links, sso_callback

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in_at_once(monkeypatch, email: str) -> list[Client]:
    """Both browsers back from the provider as `email`; the first's callback holds its
    transaction open once it has linked the identity until the second's waits for a
    lock. The two browsers, each answered with the admin's index."""
    browsers = [Client(), Client()]
    callbacks = [sso_callback(browser, "acme", email) for browser in browsers]
    linked, go_on = threading.Event(), threading.Event()
    record = signin.record_audit_event

    def record_then_wait(**event):
        row = record(**event)
        if event["action"] == AuditAction.SSO_LINKED and not linked.is_set():
            linked.set()
            go_on.wait(30)
        return row

    monkeypatch.setattr(signin, "record_audit_event", record_then_wait)
    first = Racer(lambda: browsers[0].get(callbacks[0])).start()
    try:
        assert linked.wait(30), repr(first.error)
        second = Racer(lambda: browsers[1].get(callbacks[1])).start()
        wait_until_blocked(second)
    finally:
        go_on.set()
    for racer in (first.join(), second.join()):
        assert racer.error is None, repr(racer.error)
        answer = racer.result
        assert (answer.status_code, answer.get("Location")) == (302, "/admin/"), answer.content
    return browsers


def test_a_members_two_first_sign_ins_at_once_sign_in_through_one_link(place, monkeypatch):
    browsers = _signed_in_at_once(monkeypatch, "ann@example.test")
    assert [browser.session[SESSION_KEY] for browser in browsers] == [str(place.ann.pk)] * 2
    assert len(links("ann@example.test")) == 1
    assert len(audit_rows(place.organization, action=AuditAction.SSO_LINKED)) == 1


def test_an_invited_persons_two_first_sign_ins_at_once_make_one_account(place, monkeypatch):
    with tenant_context(place.organization):
        Invitation.objects.create(
            email="new@example.test",
            role=Role.objects.get(slug="sales_rep"),
            key_hash="x" * 64,
            expires_at=timezone.now() + dt.timedelta(days=1),
        )
    browsers = _signed_in_at_once(monkeypatch, "new@example.test")
    user = User.objects.get(email="new@example.test")
    assert [browser.session[SESSION_KEY] for browser in browsers] == [str(user.pk)] * 2
    assert len(links("new@example.test")) == 1
    with tenant_context(place.organization):
        assert Membership.objects.filter(user=user).count() == 1
        assert Invitation.objects.get(email="new@example.test").accepted_by == user
