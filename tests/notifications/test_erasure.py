"""Erasing a person removes the notifications about their records from every inbox."""

from __future__ import annotations

import pytest

from compliance import services as compliance_services
from leads import services as lead_services
from notifications.choices import NotificationKind
from smartweb.tenancy.context import tenant_context
from tests.factories import acting_as
from tests.leads.factories import make_lead
from tests.notifications.conftest import told

pytestmark = pytest.mark.django_db


def test_erasure_removes_the_notifications_about_the_subject(org_a, admin_a, rep_a, manager_a):
    erased = make_lead(org_a, assigned_to=rep_a, contact_name="Pat Lee")
    kept = make_lead(org_a, assigned_to=rep_a, contact_name="Sam Fox")
    with acting_as(admin_a, org_a):
        lead_services.interaction_log(
            lead=erased,
            acting_user=admin_a,
            data={"type": "note", "content": f"@{manager_a.email} Pat Lee wants a call"},
        )
    assert len(told(org_a, kind=NotificationKind.MENTION)) == 1
    with tenant_context(org_a):
        request = compliance_services.erase_subject(lead=erased, acting_user=None)
    assert request.result["notifications"] == 2  # the assignment and the mention
    assert [n.target_id for n in told(org_a)] == [kept.pk]
