"""The admin home ("My day") shows of each row only what the user may read: a follow-up
task of theirs whose AI call is on a lead outside their scope (the lead was reassigned
after the call) is listed, but neither the call's outcome nor a link to the call's page,
which would be a 404 for them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.choices import AICallStatus, CallOutcome
from crm.models import AICall, Task
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import session_client

pytestmark = pytest.mark.django_db


def _follow_up(organization, *, lead_of, task_for, title):
    """A completed AI call on a lead of `lead_of`, and its follow-up task for `task_for`."""
    lead = factories.lead(organization, assigned_to=lead_of)
    call = factories.ai_call(organization, for_lead=lead)
    with tenant_context(organization):
        AICall.objects.filter(pk=call.pk).update(
            status=AICallStatus.COMPLETED, outcome=CallOutcome.CALLBACK
        )
        Task.objects.create(
            title=title,
            assigned_to=task_for,
            lead=lead,
            ai_call=call,
            due_at=timezone.now() + dt.timedelta(days=1),
        )
    return call


def test_a_follow_up_names_only_the_calls_the_user_may_read(org_a, rep_a, rep_a2):
    own_call = _follow_up(org_a, lead_of=rep_a, task_for=rep_a, title="Call back my lead")
    other_call = _follow_up(org_a, lead_of=rep_a2, task_for=rep_a, title="Call back their lead")
    client = session_client(rep_a, org_a)

    home = client.get(reverse("admin:index")).content.decode()

    assert "Call back my lead" in home and "Call back their lead" in home
    assert reverse("admin:crm_aicall_change", args=[own_call.pk]) in home
    assert home.count("Call: Callback") == 1
    hidden = reverse("admin:crm_aicall_change", args=[other_call.pk])
    assert hidden not in home
    assert client.get(hidden).status_code == 404
