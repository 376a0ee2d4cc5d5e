"""The requests list's "Fulfil selected export requests" and "Reject selected requests"
answer every chosen request or none: a request answered by someone else since the list
(or the confirmation page) was read is named with why, and nothing is written, not the
other requests' answers nor their audit events; left out, the others are answered."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client

from accounts.audit import AuditAction
from accounts.models import AuditLog
from compliance import services
from compliance.choices import RequestKind, RequestStatus
from compliance.models import SubjectRequest
from leads import services as lead_services
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.concurrency import Racer, wait_until_blocked
from tests.crm.conftest import committed, live_org  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

LIST = "/admin/compliance/subjectrequest/"


def _opened(organization, admin, *leads) -> list[SubjectRequest]:
    with factories.acting_as(admin, organization):
        return [
            services.subject_request_open(kind=RequestKind.EXPORT, lead=lead, acting_user=admin)
            for lead in leads
        ]


def _state(organization) -> dict:
    """Each request's status and notes, their history, and the exports logged."""
    with tenant_context(organization):
        return {
            "requests": set(SubjectRequest.objects.values_list("pk", "status", "notes")),
            "history": SubjectRequest.history.count(),
            "exports": AuditLog.objects.filter(action=AuditAction.EXPORT).count(),
        }


def _person(organization, lead) -> str:
    with tenant_context(organization):
        return str(Lead.objects.get(pk=lead.pk))


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _chosen(action: str, *requests) -> dict:
    return {"action": action, "_selected_action": [str(r.pk) for r in requests]}


def test_a_request_answered_since_the_confirmation_stops_the_rejection_of_all(
    org_a, admin_a, subject, neighbour
):
    first, answered = _opened(org_a, admin_a, subject.lead, neighbour.lead)
    client = factories.admin_browser(admin_a)
    chosen = _chosen("reject_selected", first, answered)
    confirmation = client.post(LIST, chosen)
    assert confirmation.status_code == 200 and "Reject requests" in confirmation.content.decode()
    with factories.acting_as(admin_a, org_a):  # a colleague answers one meanwhile
        services.export_subject(lead=neighbour.lead, acting_user=admin_a, subject_request=answered)
    before = _state(org_a)

    response = client.post(LIST, {**chosen, "confirm": "yes", "reason": "Not verified."})
    assert response.status_code == 302
    assert _messages(response) == [
        f"Nothing was rejected. “{_person(org_a, neighbour.lead)}”: Only an open request"
        " can be rejected."
    ]
    assert _state(org_a) == before
    assert client.get(response["Location"]).status_code == 200  # the list, shown next

    # Left out, the other one is rejected.
    chosen = _chosen("reject_selected", first)
    response = client.post(LIST, {**chosen, "confirm": "yes", "reason": "Not verified."})
    assert _messages(response) == ["Rejected 1 request(s)."]
    with tenant_context(org_a):
        assert SubjectRequest.objects.get(pk=first.pk).status == RequestStatus.REJECTED


def test_a_request_rejected_since_the_list_was_read_stops_the_export_of_all(
    org_a, admin_a, subject, neighbour
):
    first, rejected = _opened(org_a, admin_a, subject.lead, neighbour.lead)
    client = factories.admin_browser(admin_a)
    assert client.get(LIST).status_code == 200  # the list, as the user read it
    with factories.acting_as(admin_a, org_a):  # a colleague rejects one meanwhile
        services.subject_request_reject(
            subject_request=rejected, acting_user=admin_a, reason="Not our data."
        )
    before = _state(org_a)

    response = client.post(LIST, _chosen("fulfil_export", first, rejected))
    assert response.status_code == 302  # no download
    assert _messages(response) == [
        f"Nothing was exported. “{_person(org_a, neighbour.lead)}”: That request is already closed."
    ]
    assert _state(org_a) == before
    assert client.get(response["Location"]).status_code == 200

    # Left out, the other one is exported.
    response = client.post(LIST, _chosen("fulfil_export", first))
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    with tenant_context(org_a):
        assert SubjectRequest.objects.get(pk=first.pk).status == RequestStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_a_request_rejected_while_the_export_runs_is_not_answered_over(live_org):  # noqa: F811
    """The export reads each request under its lock: one rejected by a colleague while
    the export waited for it is refused, not completed over the rejection, and the
    requests exported before it are not answered either."""
    organization, admin, _ = live_org
    with tenant_context(organization):
        leads = [
            lead_services.lead_create(
                acting_user=None,
                data={"contact_name": f"Racing Person {n}"},
                company_data={"name": f"Racing Co {n}"},
            )
            for n in range(2)
        ]
    first, rejected = _opened(organization, admin, *leads)
    client = Client()
    client.force_login(admin)
    with factories.acting_as(admin, organization), transaction.atomic():
        services.subject_request_reject(
            subject_request=rejected, acting_user=admin, reason="Not our data."
        )  # its lock held until this block commits
        export = Racer(lambda: client.post(LIST, _chosen("fulfil_export", first, rejected)))
        wait_until_blocked(export.start())
    export.join()

    assert export.result.status_code == 302, export.result
    assert _messages(export.result) == [
        f"Nothing was exported. “{_person(organization, leads[1])}”: That request is already"
        " closed."
    ]
    with tenant_context(organization):
        statuses = dict(SubjectRequest.objects.values_list("pk", "status"))
        assert statuses == {first.pk: RequestStatus.OPEN, rejected.pk: RequestStatus.REJECTED}
        assert not AuditLog.objects.filter(action=AuditAction.EXPORT).exists()
