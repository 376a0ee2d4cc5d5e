"""A notification keeps the name its record had in its text; where it is shown (the
Notifications page, the API) the record is named as it is now, read with the recipient's
permissions: renamed, the new name; reassigned beyond their reach, no name at all."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from leads import services as lead_services
from leads.models import Lead
from notifications.models import Notification
from tests.factories import acting_as, api_client
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(org_a, admin_a, rep_a):
    """rep_a was told that admin_a assigned them the lead of "Drip Drop Plumbing"."""
    lead = make_lead(org_a, company={"name": "Drip Drop Plumbing"}, contact_name="Dana Drip")
    with acting_as(admin_a, org_a):
        lead = lead_services.lead_update(
            lead=Lead.objects.get(pk=lead.pk), acting_user=admin_a, data={"assigned_to": rep_a}
        )
        assert Notification.objects.get(recipient=rep_a).target_id == lead.pk
    return lead


def _record_now(user) -> tuple[str, str]:
    client = Client()
    client.force_login(user)
    page = client.get(reverse("admin:notifications")).content.decode()
    row = re.search(r'<tr class="unread".*?</tr>', page, re.S).group()
    what, now = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1:3]
    return tuple(" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in (what, now))


def _api_name(user, org) -> str | None:
    [row] = api_client(user, org).get("/api/v1/notifications/").json()["results"]
    assert "Drip Drop Plumbing" in row["message"]
    return row["record_name"]


def test_a_renamed_record_is_named_as_it_is_now(org_a, admin_a, rep_a, assigned):
    with acting_as(admin_a, org_a):
        lead_services.company_update(
            company=assigned.company, acting_user=admin_a, data={"name": "Drip Drop Heating"}
        )
    what, now = _record_now(rep_a)
    assert "Drip Drop Plumbing" in what
    assert now == "Dana Drip (Drip Drop Heating)"
    assert _api_name(rep_a, org_a) == "Dana Drip (Drip Drop Heating)"


def test_a_record_reassigned_beyond_reach_is_named_no_more(org_a, admin_a, rep_a, rep_a2, assigned):
    with acting_as(admin_a, org_a):
        lead_services.lead_update(
            lead=Lead.objects.get(pk=assigned.pk), acting_user=admin_a, data={"assigned_to": rep_a2}
        )
        lead_services.company_update(
            company=assigned.company, acting_user=admin_a, data={"name": "Secret new name"}
        )
    what, now = _record_now(rep_a)
    assert now == "no longer open to you" and "Secret new name" not in what
    assert _api_name(rep_a, org_a) is None
