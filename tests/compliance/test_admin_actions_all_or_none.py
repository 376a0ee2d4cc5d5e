"""The requests list's "Fulfil selected export requests", "Fulfil selected erasure
requests" and "Reject selected requests", and the leads list's erasure, answer every
chosen request (or person) or none: a request answered by someone else since the list (or
the confirmation page) was read, or a person the user may not erase, is named with why,
and nothing is written, not the other requests' answers nor their audit events, and for
an erasure not a row or history row overwritten, nor a suppression entry, nor a file taken
from the storage; left out, the others are answered."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client

from accounts.audit import AuditAction
from accounts.models import AuditLog, Membership, Role, RolePermission
from attachments.models import Attachment
from compliance import services
from compliance.choices import RequestKind, RequestStatus
from compliance.models import SubjectRequest, SuppressionEntry
from leads import services as lead_services
from leads.models import Lead
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.attachments.conftest import media, stored_files  # noqa: F401 (fixture)
from tests.attachments.factories import attach
from tests.compliance.conftest import tables_containing
from tests.concurrency import Racer, wait_until_blocked
from tests.crm.conftest import committed, live_org  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

LIST = "/admin/compliance/subjectrequest/"
LEADS = "/admin/leads/lead/"


def _opened(organization, admin, *leads, kind=RequestKind.EXPORT) -> list[SubjectRequest]:
    with factories.acting_as(admin, organization):
        return [
            services.subject_request_open(kind=kind, lead=lead, acting_user=admin) for lead in leads
        ]


def _state(organization) -> dict:
    """Each request's status and notes, their history, the exports and erasures logged,
    the suppression list, and the files attached."""
    with tenant_context(organization):
        return {
            "requests": set(SubjectRequest.objects.values_list("pk", "status", "notes")),
            "history": SubjectRequest.history.count(),
            "events": sorted(
                AuditLog.objects.filter(
                    action__in=[AuditAction.EXPORT, AuditAction.ERASURE]
                ).values_list("action", flat=True)
            ),
            "suppressed": SuppressionEntry.objects.count(),
            "attachments": Attachment.all_objects.count(),
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


def test_a_request_rejected_since_the_confirmation_stops_the_erasure_of_all(
    org_a,
    admin_a,
    subject,
    neighbour,
    media,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    """The other person, erased before the refusal, is not erased either: not a row nor a
    history row of theirs overwritten, and their file stays in the storage even once
    the request's transaction would have committed."""
    erased, rejected = _opened(
        org_a, admin_a, subject.lead, neighbour.lead, kind=RequestKind.ERASURE
    )
    attach(org_a, subject.lead, "Zebulon CV.pdf")
    files = stored_files(media)
    client = factories.admin_browser(admin_a)
    chosen = _chosen("fulfil_erasure", erased, rejected)
    confirmation = client.post(LIST, chosen)
    assert confirmation.status_code == 200
    assert "Fulfil erasure requests" in confirmation.content.decode()
    with factories.acting_as(admin_a, org_a):  # a colleague rejects one meanwhile
        services.subject_request_reject(
            subject_request=rejected, acting_user=admin_a, reason="Not our data."
        )
    before = _state(org_a), tables_containing(org_a, subject.markers())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(LIST, {**chosen, "confirm": "yes"})
    assert response.status_code == 302
    assert _messages(response) == [
        f"Nothing was erased. “{_person(org_a, neighbour.lead)}”: That request is already closed."
    ]
    assert (_state(org_a), tables_containing(org_a, subject.markers())) == before
    assert stored_files(media) == files
    assert client.get(response["Location"]).status_code == 200

    # Left out, the other one is erased, and its file leaves the storage as it commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(LIST, {**_chosen("fulfil_erasure", erased), "confirm": "yes"})
    assert _messages(response) == ["Erased 1 person(s)."]
    assert tables_containing(org_a, subject.markers()) == {}
    assert stored_files(media) == []
    with tenant_context(org_a):
        assert SubjectRequest.objects.get(pk=erased.pk).status == RequestStatus.COMPLETED


def test_a_person_the_user_may_not_erase_stops_the_erasure_of_all(org_a, admin_a, subject):
    """On the leads list: a privacy officer reads every lead and erases the people of
    their own ones; choosing one of someone else's as well erases no one."""
    with tenant_context(org_a):
        role = Role.objects.create(name="Privacy officer", slug="privacy", back_office=True)
        grants = [(Resource.COMPLIANCE, action, Scope.ALL) for action in Action]
        grants += [
            (Resource.LEADS, Action.READ, Scope.ALL),
            (Resource.LEADS, Action.DELETE, Scope.OWN),
        ]
        for resource, action, scope in grants:
            RolePermission.objects.create(role=role, resource=resource, action=action, scope=scope)
        officer = factories.UserFactory()
        Membership.objects.create(organization=org_a, user=officer, role=role)
        own = lead_services.lead_create(
            acting_user=None,
            data={"contact_name": "Owned Person", "assigned_to": officer},
            company_data={"name": "Owned Co"},
        )
    before = _state(org_a), tables_containing(org_a, ["owned person"])
    client = factories.admin_browser(officer)

    chosen = {
        "action": "erase_subject_data",
        "_selected_action": [str(own.pk), str(subject.lead.pk)],
    }
    response = client.post(LEADS, {**chosen, "confirm": "yes"})
    assert response.status_code == 302
    assert _messages(response) == [
        f"Nothing was erased. “{_person(org_a, subject.lead)}”: You do not have permission"
        " to do this."
    ]
    assert (_state(org_a), tables_containing(org_a, ["owned person"])) == before
    assert client.get(response["Location"]).status_code == 200  # the list, shown next

    chosen["_selected_action"] = [str(own.pk)]
    response = client.post(LEADS, {**chosen, "confirm": "yes"})
    assert _messages(response) == ["Erased 1 person(s)."]
    assert tables_containing(org_a, ["owned person"]) == {}


def test_a_user_of_another_organization_erases_nothing(org_a, admin_a, admin_b, subject):
    """Org A's requests are not among org B's admin's rows: chosen by id, none is erased."""
    (pending,) = _opened(org_a, admin_a, subject.lead, kind=RequestKind.ERASURE)
    before = _state(org_a), tables_containing(org_a, subject.markers())
    client = factories.admin_browser(admin_b)
    chosen = _chosen("fulfil_erasure", pending)
    confirmation = client.post(LIST, chosen)
    assert confirmation.status_code == 200 and subject.last not in confirmation.content.decode()
    response = client.post(LIST, {**chosen, "confirm": "yes"})
    assert response.status_code == 302
    assert _messages(response) == ["Erased 0 person(s)."]  # none of theirs chosen
    assert (_state(org_a), tables_containing(org_a, subject.markers())) == before


def test_a_user_without_the_permission_is_refused(org_a, admin_a, manager_a, subject):
    """A sales manager has no compliance rights: the requests list is a 403, its action too."""
    (pending,) = _opened(org_a, admin_a, subject.lead, kind=RequestKind.ERASURE)
    before = _state(org_a), tables_containing(org_a, subject.markers())
    client = factories.admin_browser(manager_a)
    response = client.post(LIST, {**_chosen("fulfil_erasure", pending), "confirm": "yes"})
    assert response.status_code == 403
    assert (_state(org_a), tables_containing(org_a, subject.markers())) == before


@pytest.mark.django_db(transaction=True)
def test_a_request_rejected_while_the_erasure_runs_undoes_the_erasure_of_all(
    live_org,  # noqa: F811
    media,  # noqa: F811
):
    """The erasure reads each request under its lock: one rejected by a colleague while
    the erasure waited for it is refused, and the people erased before and after it in
    the batch are not erased either, committed for real: their rows, their file in the
    storage (removed only when an erasure commits), no suppression entry nor audit event."""
    organization, admin, _ = live_org
    with tenant_context(organization):
        leads = [
            lead_services.lead_create(
                acting_user=None,
                data={
                    "contact_name": f"Erasing Person {n}",
                    "contact_email": f"erasing{n}@example.test",
                },
                company_data={"name": f"Erasing Co {n}"},
            )
            for n in range(3)
        ]
    # Listed in this order (by due date): the one rejected is fulfilled second.
    first, contested, last = _opened(organization, admin, *leads, kind=RequestKind.ERASURE)
    kept = attach(organization, leads[0])
    client = Client()
    client.force_login(admin)
    with factories.acting_as(admin, organization), transaction.atomic():
        services.subject_request_reject(
            subject_request=contested, acting_user=admin, reason="Not our data."
        )  # its lock held until this block commits
        erasure = Racer(
            lambda: client.post(
                LIST, {**_chosen("fulfil_erasure", first, contested, last), "confirm": "yes"}
            )
        )
        wait_until_blocked(erasure.start())
    erasure.join()

    assert erasure.result.status_code == 302, erasure.error or erasure.result
    assert _messages(erasure.result) == [
        f"Nothing was erased. “{_person(organization, leads[1])}”: That request is already closed."
    ]
    with tenant_context(organization):
        statuses = dict(SubjectRequest.objects.values_list("pk", "status"))
        assert statuses == {
            first.pk: RequestStatus.OPEN,
            contested.pk: RequestStatus.REJECTED,
            last.pk: RequestStatus.OPEN,
        }
        assert sorted(Lead.objects.values_list("contact_name", flat=True)) == [
            f"Erasing Person {n}" for n in range(3)
        ]
        assert not AuditLog.objects.filter(action=AuditAction.ERASURE).exists()
        assert not SuppressionEntry.objects.exists()
        assert Attachment.objects.filter(pk=kept.pk).exists()
    assert stored_files(media) == [kept.file]
