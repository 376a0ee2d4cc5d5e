"""`/api/v1/notifications/`: one's own notifications only, whatever one's role; another
person's or another organization's are 404; marked read one by one or all at once; the
unread count; the digest setting, with bad input refused and nothing written."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from notifications.choices import NotificationKind
from notifications.models import NotificationSettings
from notifications.services import notify
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client, session_client
from tests.notifications.conftest import told

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"


def _notify(organization, user, n=1, kind=NotificationKind.TASK_OVERDUE):
    with tenant_context(organization):
        target = user  # any row with an id: the API does not follow it
        return [
            notify(
                recipient=user,
                kind=kind,
                target=target,
                message=f"Overdue: task {i}",
                dedupe_key=f"test:{user.pk}:{uuid.uuid4()}",
            )
            for i in range(n)
        ]


def test_a_member_lists_their_own_notifications_only(org_a, admin_a, rep_a):
    mine = _notify(org_a, rep_a, 2)
    _notify(org_a, admin_a, 3)
    body = api_client(rep_a, org_a).get(URL).json()
    assert [row["id"] for row in body["results"]] == [str(n.pk) for n in reversed(mine)]
    row = body["results"][0]
    assert row["kind"] == "task_overdue" and row["is_read"] is False and row["read_at"] is None
    # The organization's admin sees theirs, not the rep's.
    assert len(api_client(admin_a, org_a).get(URL).json()["results"]) == 3


def test_another_persons_or_organizations_is_404(org_a, admin_a, rep_a, org_b, admin_b):
    (theirs,) = _notify(org_a, rep_a)
    for user, organization in ((admin_a, org_a), (admin_b, org_b)):
        client = api_client(user, organization)
        assert client.get(f"{URL}{theirs.pk}/").status_code == 404
        assert client.post(f"{URL}{theirs.pk}/read/").status_code == 404
        assert client.get(URL).json()["results"] == []
    assert told(org_a, rep_a)[0].read_at is None


def test_a_user_outside_the_organization_is_refused(org_a, rep_a, admin_b):
    _notify(org_a, rep_a)
    outsider = session_client(admin_b, org_a)  # names organization A, not a member of it
    assert outsider.get(URL).status_code == 403
    assert outsider.post(f"{URL}read-all/").status_code == 403
    assert api_client(rep_a, org_a).get(f"{URL}unread-count/").json() == {"unread": 1}


def test_an_anonymous_client_is_401():
    assert APIClient().get(URL).status_code == 401


def test_marking_read_one_and_all(org_a, rep_a):
    first, second, third = _notify(org_a, rep_a, 3)
    client = api_client(rep_a, org_a)
    assert client.get(f"{URL}unread-count/").json() == {"unread": 3}
    answer = client.post(f"{URL}{first.pk}/read/")
    assert answer.status_code == 200 and answer.json()["is_read"] is True
    read_at = answer.json()["read_at"]
    assert client.post(f"{URL}{first.pk}/read/").json()["read_at"] == read_at  # unchanged
    assert client.get(URL, {"unread": "true"}).json()["results"][0]["id"] == str(third.pk)
    assert len(client.get(URL, {"unread": "false"}).json()["results"]) == 1
    assert client.post(f"{URL}read-all/").json() == {"marked": 2}
    assert client.get(f"{URL}unread-count/").json() == {"unread": 0}
    assert client.post(f"{URL}read-all/").json() == {"marked": 0}


def test_the_digest_setting(org_a, rep_a):
    client = api_client(rep_a, org_a)
    assert client.get(f"{URL}preferences/").json() == {
        "digest_enabled": True,
        "last_digest_at": None,
    }
    answer = client.patch(f"{URL}preferences/", {"digest_enabled": False}, format="json")
    assert answer.status_code == 200 and answer.json()["digest_enabled"] is False
    for bad in ({"digest_enabled": "yes"}, {"digest_enabled": None}, {"digest_enabled": 1}):
        refused = client.patch(f"{URL}preferences/", bad, format="json")
        assert refused.status_code == 400, (bad, refused.content)
    unchanged = client.patch(f"{URL}preferences/", {}, format="json")
    assert unchanged.status_code == 200 and unchanged.json()["digest_enabled"] is False
    with tenant_context(org_a):
        assert NotificationSettings.objects.get(user=rep_a).digest_enabled is False


def test_the_digest_setting_as_read_is_taken_back_and_changes_nothing(org_a, rep_a):
    """A PATCH of the body the GET answered (a form that sends back what it read) is
    answered as the GET was: `last_digest_at` is read-only, taken and left as it is. A
    field the answer does not have is still refused, at its name."""
    client = api_client(rep_a, org_a)
    client.patch(f"{URL}preferences/", {"digest_enabled": False}, format="json")
    with tenant_context(org_a):
        stored = NotificationSettings.objects.get(user=rep_a)
        NotificationSettings.objects.filter(pk=stored.pk).update(
            last_digest_at=dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)
        )
        before = NotificationSettings.objects.values().get(pk=stored.pk)
    read = client.get(f"{URL}preferences/").json()
    assert read == {"digest_enabled": False, "last_digest_at": "2026-03-02T07:00:00Z"}

    sent_back = client.patch(f"{URL}preferences/", read, format="json")

    assert sent_back.status_code == 200, sent_back.content
    assert sent_back.json() == read
    misspelt = client.patch(f"{URL}preferences/", {**read, "digest_enable": True}, format="json")
    assert misspelt.status_code == 400
    assert list(misspelt.json()["error"]["details"]) == ["digest_enable"]
    with tenant_context(org_a):
        assert NotificationSettings.objects.values().get(pk=stored.pk) == before


def test_the_digest_settings_page_opens_in_the_browsable_api(org_a, rep_a):
    page = api_client(rep_a, org_a).get(f"{URL}preferences/", {"format": "api"})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "digest_enabled" in page.content.decode()


def test_the_list_reads_a_constant_number_of_queries(org_a, rep_a):
    client = api_client(rep_a, org_a)
    _notify(org_a, rep_a, 1)
    client.get(URL)  # the token's first use writes its last use
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    _notify(org_a, rep_a, 20)
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(one)
