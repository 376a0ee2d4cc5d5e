"""The data subject requests list is filtered by `?status=`, which its schema declares (a
parameter it did not declare would be refused, ADR 0055): the open ones, or a 400 for a
status there is not."""

from __future__ import annotations

import pytest
from django.utils import timezone

from compliance import services
from compliance.choices import RequestKind, RequestStatus
from compliance.models import SubjectRequest
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db
URL = "/api/v1/compliance/requests/"


def _opened(organization, kind: str) -> SubjectRequest:
    with tenant_context(organization):
        return services.subject_request_open(
            kind=kind, lead=make_lead(organization), acting_user=None
        )


def test_the_open_requests_and_no_status_there_is_not(org_a, admin_a):
    opened = _opened(org_a, RequestKind.EXPORT)
    done = _opened(org_a, RequestKind.ERASURE)
    with tenant_context(org_a):
        SubjectRequest.objects.filter(pk=done.pk).update(
            status=RequestStatus.COMPLETED, completed_at=timezone.now()
        )
    client = factories.api_client(admin_a, org_a)
    listed = client.get(URL, {"status": "open"})
    assert listed.status_code == 200, listed.content
    assert [row["id"] for row in listed.json()["results"]] == [str(opened.pk)]
    assert len(client.get(URL).json()["results"]) == 2
    refused = client.get(URL, {"status": "pending"})
    assert refused.status_code == 400 and list(refused.json()["error"]["details"]) == ["status"]
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    [status] = [p for p in schema["paths"][URL]["get"]["parameters"] if p["name"] == "status"]
    # Given empty, it does not filter (smartweb.api.schema).
    assert sorted(status["schema"]["anyOf"][0]["enum"]) == sorted(RequestStatus.values)
