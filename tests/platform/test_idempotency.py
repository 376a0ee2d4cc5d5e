"""Idempotency-Key on POST: a retry gets the first answer, nothing is done twice."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import IdempotentRequest
from crm.models import Task
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/tasks/"


def _post(client, body, key):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _tasks(org, title) -> int:
    with tenant_context(org):
        return Task.objects.filter(title=title).count()


def test_a_retry_gets_the_first_answer_and_creates_nothing(org_a, admin_a):
    client = api_client(admin_a, org_a)
    first = _post(client, {"title": "Quote"}, "k-1")
    retry = _post(client, {"title": "Quote"}, "k-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert _tasks(org_a, "Quote") == 1


def test_a_key_reused_for_another_request_is_refused(org_a, admin_a):
    client = api_client(admin_a, org_a)
    _post(client, {"title": "Quote"}, "k-2")
    reused = _post(client, {"title": "Other"}, "k-2")
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert _tasks(org_a, "Other") == 0


def test_keys_are_per_user_and_organization(org_a, org_b, admin_a, admin_b, manager_a):
    for user, org in ((admin_a, org_a), (manager_a, org_a), (admin_b, org_b)):
        answer = _post(api_client(user, org), {"title": "Quote"}, "shared-key")
        assert answer.status_code == 201 and "Idempotent-Replayed" not in answer.headers
    assert _tasks(org_a, "Quote") == 2 and _tasks(org_b, "Quote") == 1
    with tenant_context(org_b):
        assert IdempotentRequest.objects.count() == 1


def test_a_refused_request_is_not_remembered_and_an_expired_key_runs_again(org_a, admin_a):
    client = api_client(admin_a, org_a)
    assert _post(client, {"title": ""}, "k-3").status_code == 400
    assert _post(client, {"title": "Fixed"}, "k-3").status_code == 201
    with tenant_context(org_a):
        IdempotentRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    again = _post(client, {"title": "Fixed"}, "k-3")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert _tasks(org_a, "Fixed") == 2
