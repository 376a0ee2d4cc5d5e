"""A person is erased once. Erasing them again (the leads list, the API, the command) is
refused with the day they were erased, and writes nothing: no request answered, no audit
event, no row overwritten again; in a batch, no one else is erased either. A request of
theirs that comes after the erasure is answered as already erased, without erasing again:
the request is closed (its notes cleared, as the erasure clears a request's) and names the
erasure that answered it. Another organization's admin and a member without the right
learn nothing of it and change nothing."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import AuditLog
from compliance import services
from compliance.choices import RequestKind, RequestStatus
from compliance.erased import LeadErased
from compliance.models import SubjectRequest, SuppressionEntry
from leads import services as lead_services
from leads.models import Company, Lead
from smartweb.tenancy.context import tenant_context
from smartweb.time_zones import zone_of
from tests import factories
from tests.compliance.conftest import erase_on_list, fulfil_erasure, tables_containing
from tests.concurrency import Racer, wait_until_blocked
from tests.crm.conftest import committed, live_org  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

LATE_NOTE = "Wrote again from a new address, asking to be forgotten."
# Another person: a lead and its company, nothing else.
OTHER = "Ambrosine Plumtree"


def _other(organization) -> Lead:
    with tenant_context(organization):
        return lead_services.lead_create(
            acting_user=None,
            data={"contact_name": OTHER, "contact_email": "ambrosine@plumtree.test"},
            company_data={"name": "Plumtree Glazing"},
        )


def _erased(organization, admin, person) -> SubjectRequest:
    with factories.acting_as(admin, organization):
        return services.erase_subject(lead=person.lead, acting_user=admin)


def _late_request(organization, admin, person) -> SubjectRequest:
    """The person's erasure request, recorded after they were erased."""
    with factories.acting_as(admin, organization):
        return services.subject_request_open(
            kind=RequestKind.ERASURE, lead=person.lead, acting_user=admin, notes=LATE_NOTE
        )


def _day(organization, erasure: SubjectRequest) -> str:
    """The day of the erasure, where the organization is."""
    return f"{timezone.localdate(erasure.completed_at, zone_of(organization)):%Y-%m-%d}"


def _refusal(organization, erasure: SubjectRequest) -> str:
    return (
        f"This person was already erased on {_day(organization, erasure)}:"
        " there is nothing left to erase."
    )


def _trace(organization, person) -> dict:
    """What an erasure of `person` writes: requests, audit events, suppression entries,
    and the lead's and company's rows (an erasure updates them, their `updated_at`)."""
    with tenant_context(organization):
        return {
            "requests": set(
                SubjectRequest.objects.values_list("pk", "status", "notes", "completed_at")
            ),
            "request_history": SubjectRequest.history.count(),
            "events": AuditLog.objects.filter(action=AuditAction.ERASURE).count(),
            "suppressed": SuppressionEntry.objects.count(),
            "lead": Lead.all_objects.filter(pk=person.lead.pk).values("updated_at").get(),
            "company": Company.all_objects.filter(pk=person.lead.company_id)
            .values("updated_at")
            .get(),
        }


def _person(organization, lead) -> str:
    with tenant_context(organization):
        return str(Lead.all_objects.get(pk=lead.pk))


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _api_erase(user, organization, lead, **data):
    return factories.api_client(user, organization).post(
        f"/api/v1/leads/{lead.pk}/erase/", data, format="json"
    )


def _answered_so(organization, late: SubjectRequest, erasure: SubjectRequest) -> None:
    with tenant_context(organization):
        late.refresh_from_db()
        history_notes = set(
            SubjectRequest.history.filter(id=late.pk).values_list("notes", flat=True)
        )
    assert late.status == RequestStatus.COMPLETED
    assert late.result == {
        "already_erased": {
            "subject_request": str(erasure.pk),
            "completed_at": erasure.completed_at.isoformat(),
        }
    }
    assert late.notes == "" and history_notes == {""}


# --- refused: nothing left to erase --------------------------------------------------------


def test_an_erased_person_chosen_again_on_the_leads_list_stops_the_erasure_of_all(
    org_a, admin_a, subject
):
    erasure = _erased(org_a, admin_a, subject)
    other = _other(org_a)
    before = _trace(org_a, subject), tables_containing(org_a, ["plumtree"])
    client = factories.admin_browser(admin_a)

    response = erase_on_list(client, subject.lead, other)
    assert response.status_code == 302
    assert _messages(response) == [
        f"Nothing was erased. “{_person(org_a, subject.lead)}”: {_refusal(org_a, erasure)}"
    ]
    assert (_trace(org_a, subject), tables_containing(org_a, ["plumtree"])) == before
    assert client.get(response["Location"]).status_code == 200

    # Left out, the other one is erased.
    response = erase_on_list(client, other)
    assert _messages(response) == ["Erased 1 person(s)."]
    assert tables_containing(org_a, ["plumtree"]) == {}


def test_the_api_refuses_to_erase_again(org_a, admin_a, subject):
    erasure = _erased(org_a, admin_a, subject)
    before = _trace(org_a, subject)
    response = _api_erase(admin_a, org_a, subject.lead)
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "erased"
    assert response.json()["error"]["message"] == _refusal(org_a, erasure)
    assert _trace(org_a, subject) == before


def test_the_command_refuses_to_erase_again(org_a, admin_a, subject):
    erasure = _erased(org_a, admin_a, subject)
    before = _trace(org_a, subject)
    with pytest.raises(CommandError, match=_refusal(org_a, erasure)):
        call_command("erase_subject", str(subject.lead.pk), organization="acme", yes=True)
    assert _trace(org_a, subject) == before


def test_a_merged_lead_of_an_erased_person_is_not_erased_again(org_a, admin_a, subject):
    """The lead merged into the erased one is the same person, erased with it."""
    erasure = _erased(org_a, admin_a, subject)
    duplicate = subject.rows["duplicate"]
    with factories.acting_as(admin_a, org_a), pytest.raises(LeadErased) as refused:
        services.erase_subject(lead=Lead.all_objects.get(pk=duplicate.pk), acting_user=admin_a)
    assert str(refused.value) == _refusal(org_a, erasure)


@pytest.mark.django_db(transaction=True)
def test_of_two_erasures_at_once_the_second_waits_and_is_refused(live_org):  # noqa: F811
    """The second erasure waits for the first's lock on the lead, then finds the person
    erased: one request answered, one audit event."""
    organization, admin, _ = live_org
    with tenant_context(organization):
        lead = lead_services.lead_create(
            acting_user=None,
            data={"contact_name": "Twice Person", "contact_email": "twice@example.test"},
            company_data={"name": "Twice Co"},
        )
    with factories.acting_as(admin, organization), transaction.atomic():
        erasure = services.erase_subject(lead=lead, acting_user=admin)
        second = Racer(
            lambda: services.erase_subject(lead=lead, acting_user=None), organization
        ).start()
        wait_until_blocked(second)
    second.join()

    assert isinstance(second.error, LeadErased), second.error or second.result
    assert str(second.error) == _refusal(organization, erasure)
    with tenant_context(organization):
        assert list(SubjectRequest.objects.values_list("pk", flat=True)) == [erasure.pk]
        assert AuditLog.objects.filter(action=AuditAction.ERASURE).count() == 1


# --- a request that comes after the erasure is answered, not erased again ------------------


def test_a_request_made_after_the_erasure_is_answered_as_already_erased(org_a, admin_a, subject):
    """Fulfilled on the requests list with another person's: that one is erased, this one
    is answered with the erasure that was, and its person's rows are not overwritten."""
    erasure = _erased(org_a, admin_a, subject)
    late = _late_request(org_a, admin_a, subject)
    with factories.acting_as(admin_a, org_a):
        pending = services.subject_request_open(
            kind=RequestKind.ERASURE, lead=_other(org_a), acting_user=admin_a
        )
    before = _trace(org_a, subject)
    client = factories.admin_browser(admin_a)

    response = fulfil_erasure(client, late, pending)
    assert response.status_code == 302
    assert _messages(response) == [
        "Erased 1 person(s).",
        "Answered 1 request(s) of people erased before, without erasing them again.",
    ]
    _answered_so(org_a, late, erasure)
    after = _trace(org_a, subject)
    assert (after["lead"], after["company"]) == (before["lead"], before["company"])
    assert after["events"] == before["events"] + 1  # the other person's erasure only
    with tenant_context(org_a):
        assert not SuppressionEntry.objects.filter(subject_request=late).exists()
    assert tables_containing(org_a, ["plumtree"]) == {}


def test_the_api_answers_a_request_made_after_the_erasure(org_a, admin_a, subject):
    erasure = _erased(org_a, admin_a, subject)
    late = _late_request(org_a, admin_a, subject)
    before = _trace(org_a, subject)
    response = _api_erase(admin_a, org_a, subject.lead, subject_request=str(late.pk))
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(late.pk)
    assert response.json()["result"]["already_erased"]["subject_request"] == str(erasure.pk)
    _answered_so(org_a, late, erasure)
    after = _trace(org_a, subject)
    assert (after["lead"], after["company"], after["events"], after["suppressed"]) == (
        before["lead"],
        before["company"],
        before["events"],
        before["suppressed"],
    )


def test_erasing_from_the_leads_list_answers_the_person_s_open_request(org_a, admin_a, subject):
    """As an erasure answers the person's open request, erasing them again answers it, and
    only it: nothing is erased."""
    erasure = _erased(org_a, admin_a, subject)
    late = _late_request(org_a, admin_a, subject)
    response = erase_on_list(factories.admin_browser(admin_a), subject.lead)
    assert _messages(response) == [
        "Erased 0 person(s).",
        "Answered 1 request(s) of people erased before, without erasing them again.",
    ]
    _answered_so(org_a, late, erasure)


# --- nobody else learns or changes anything ------------------------------------------------


def test_another_organization_s_admin_learns_and_changes_nothing(
    org_a, org_b, admin_a, admin_b, subject
):
    erasure = _erased(org_a, admin_a, subject)
    late = _late_request(org_a, admin_a, subject)
    before = _trace(org_a, subject)
    for post, chosen in ((erase_on_list, subject.lead), (fulfil_erasure, late)):
        response = post(factories.admin_browser(admin_b), chosen)
        assert response.status_code == 302
        assert _messages(response) == ["Erased 0 person(s)."]  # none of theirs chosen
    refused = _api_erase(admin_b, org_b, subject.lead, subject_request=str(late.pk))
    assert refused.status_code == 404
    assert _day(org_a, erasure) not in refused.content.decode()
    assert _trace(org_a, subject) == before


def test_a_member_without_the_right_is_refused_and_changes_nothing(
    org_a, admin_a, manager_a, subject
):
    """A sales manager may not erase: 403 before anything about the erasure is said."""
    _erased(org_a, admin_a, subject)
    late = _late_request(org_a, admin_a, subject)
    before = _trace(org_a, subject)
    assert fulfil_erasure(factories.admin_browser(manager_a), late).status_code == 403
    refused = _api_erase(manager_a, org_a, subject.lead, subject_request=str(late.pk))
    assert refused.status_code == 403
    assert "already erased" not in refused.content.decode()
    assert _trace(org_a, subject) == before
