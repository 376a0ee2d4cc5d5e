"""The back office: the header's unread badge on every page, the Notifications page with
one's own notifications only, marking read, and the digest choice."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from notifications.choices import NotificationKind
from notifications.models import NotificationSettings
from notifications.services import notify
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import make_lead
from tests.notifications.conftest import told

pytestmark = pytest.mark.django_db

PAGE = reverse("admin:notifications")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _notify(organization, user, target, message="A lead was assigned to you: Drip Drop"):
    with tenant_context(organization):
        return notify(
            recipient=user,
            kind=NotificationKind.LEAD_ASSIGNED,
            target=target,
            message=message,
            dedupe_key=f"test:{uuid.uuid4()}",
        )


def test_the_header_shows_the_unread_count_on_every_page(org_a, rep_a, admin_a):
    lead = make_lead(org_a, assigned_to=rep_a)  # tells rep_a
    _notify(org_a, rep_a, lead)
    client = _client(rep_a)
    for url in (reverse("admin:index"), reverse("admin:leads_lead_changelist"), PAGE):
        page = client.get(url).content.decode()
        assert 'id="notifications-badge"' in page and ">2</span>" in page, url
    # Nobody else's count: the admin has none.
    assert (
        'id="notifications-badge"'
        not in _client(admin_a).get(reverse("admin:index")).content.decode()
    )


def test_the_page_lists_mine_links_the_record_and_marks_read(org_a, rep_a, admin_a):
    lead = make_lead(org_a, assigned_to=rep_a)
    _notify(org_a, admin_a, lead, message="For the admin alone")
    client = _client(rep_a)
    page = client.get(PAGE).content.decode()
    assert "A lead was assigned to you" in page and "For the admin alone" not in page
    assert reverse("admin:leads_lead_change", args=[lead.pk]) in page

    (mine,) = told(org_a, rep_a)
    answer = client.post(PAGE, {"action": "read", "notification": str(mine.pk)})
    assert answer.status_code == 302
    assert told(org_a, rep_a)[0].read_at is not None
    assert 'id="notifications-badge"' not in client.get(PAGE).content.decode()


def test_another_persons_notification_cannot_be_marked(org_a, rep_a, admin_a, org_b, admin_b):
    lead = make_lead(org_a)
    theirs = _notify(org_a, admin_a, lead)
    for user in (rep_a, admin_b):
        client = _client(user)
        client.post(PAGE, {"action": "read", "notification": str(theirs.pk)})
        client.post(PAGE, {"action": "read", "notification": "not-an-id"})
        client.post(PAGE, {"action": "read_all"})
    assert told(org_a, admin_a)[0].read_at is None


def test_mark_all_read_and_the_digest_choice(org_a, rep_a):
    lead = make_lead(org_a)
    for _ in range(3):
        _notify(org_a, rep_a, lead)
    client = _client(rep_a)
    client.post(PAGE, {"action": "read_all"})
    assert all(n.read_at is not None for n in told(org_a, rep_a))

    assert "checked" in client.get(PAGE).content.decode()  # on by default
    client.post(PAGE, {"action": "digest"})  # the box left unticked
    with tenant_context(org_a):
        assert NotificationSettings.objects.get(user=rep_a).digest_enabled is False
    client.post(PAGE, {"action": "digest", "digest_enabled": "on"})
    with tenant_context(org_a):
        assert NotificationSettings.objects.get(user=rep_a).digest_enabled is True


def test_an_anonymous_visitor_is_sent_to_sign_in():
    answer = Client().get(PAGE)
    assert answer.status_code == 302 and reverse("admin:login") in answer["Location"]
