"""A changed password is told to its owner by email, whoever changed it and wherever: one's
own change in the back office or the API, a platform super admin's reset. The email says
when, what to do if it was not them, and never the password; a refused change sends
nothing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from tests import factories
from tests.accounts.conftest import admin_client
from tests.accounts.test_password_revokes_tokens import (
    NEW_PASSWORD,
    OWN_PAGE,
    reset_page,
    signed_in_client,
)

pytestmark = pytest.mark.django_db

SUBJECT = "Your password was changed"


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Runs a change as a request would (its transaction committed); the mails it sent."""

    def run(change) -> list[mail.EmailMessage]:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            change()
        return list(mail.outbox)

    return run


def the_notice(messages, user) -> str:
    """The one notice sent, to `user`: its body, checked to hold neither password."""
    assert [(m.to, m.subject) for m in messages] == [([user.email], SUBJECT)]
    body = messages[0].body
    assert NEW_PASSWORD not in body and factories.PASSWORD not in body
    assert f"{timezone.now():%Y-%m-%d} " in body and " UTC" in body
    return body


def own_page_change(client, current_password=factories.PASSWORD):
    return client.post(
        OWN_PAGE,
        {
            "old_password": current_password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )


def api_change(user, organization, current_password=factories.PASSWORD):
    return factories.api_client(user, organization).post(
        "/api/v1/me/password/",
        {"current_password": current_password, "new_password": NEW_PASSWORD},
        format="json",
    )


def test_ones_own_change_in_the_back_office_is_emailed(rep_a, sent):
    client = signed_in_client(rep_a)

    body = the_notice(sent(lambda: own_page_change(client)), rep_a)

    assert f"The password of your SmartWeb CRM account {rep_a.email} was changed" in body
    assert "If you did not do this" in body and "administrator" in body


def test_ones_own_change_through_the_api_is_emailed(rep_a, org_a, sent):
    responses = []

    body = the_notice(sent(lambda: responses.append(api_change(rep_a, org_a))), rep_a)

    assert responses[0].status_code == 204
    assert "was changed" in body


def test_a_super_admins_reset_is_emailed(rep_a, sent):
    root = admin_client(factories.UserFactory(is_superuser=True))
    form = {
        "usable_password": "true",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "set-password": "",
    }

    body = the_notice(sent(lambda: root.post(reset_page(rep_a), form)), rep_a)

    assert "was reset by a platform administrator" in body
    assert "Every device you were signed in on was signed out" in body


def test_password_sign_in_turned_off_is_emailed(rep_a, sent):
    root = admin_client(factories.UserFactory(is_superuser=True))
    form = {"usable_password": "false", "unset-password": ""}

    body = the_notice(sent(lambda: root.post(reset_page(rep_a), form)), rep_a)

    rep_a.refresh_from_db()
    assert not rep_a.has_usable_password()
    assert "Password sign-in to your SmartWeb CRM account" in body
    assert "turned off by a platform administrator" in body


@pytest.mark.parametrize("surface", ["back office", "api"])
def test_a_refused_change_sends_nothing(rep_a, org_a, sent, surface):
    if surface == "api":
        sent_mail = sent(lambda: api_change(rep_a, org_a, current_password="not-it"))
    else:
        client = signed_in_client(rep_a)
        sent_mail = sent(lambda: own_page_change(client, current_password="not-it"))

    assert sent_mail == []
    rep_a.refresh_from_db()
    assert rep_a.check_password(factories.PASSWORD)


def test_a_refused_reset_sends_nothing(rep_a, admin_a, sent):
    form = {"usable_password": "true", "password1": "short", "password2": "short"}
    outsider = admin_client(admin_a)  # not a platform super admin
    root = admin_client(factories.UserFactory(is_superuser=True))

    refused = sent(lambda: outsider.post(reset_page(rep_a), form))
    too_weak = sent(lambda: root.post(reset_page(rep_a), {**form, "set-password": ""}))

    assert refused == [] and too_weak == []
    rep_a.refresh_from_db()
    assert rep_a.check_password(factories.PASSWORD)
