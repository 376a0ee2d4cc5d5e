"""Erasure: nothing personal of the subject is left anywhere in the database, history
included, while counts and amounts stay; it is audited, permissioned and tenant-safe."""

import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum

from accounts.audit import AuditAction
from accounts.models import AuditLog
from compliance import services
from compliance.choices import RequestKind, RequestStatus
from compliance.models import SubjectRequest, SuppressionEntry
from crm.choices import AICallStatus
from crm.models import AICall, Contract, Opportunity, Proposal, ProposalLineItem, Task
from crm.services import CallReport, ai_call_record_result
from leads.models import Company, Interaction, Lead
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.compliance.conftest import tables_containing
from tests.crm import factories as crm_factories

pytestmark = pytest.mark.django_db


def aggregates(organization) -> dict:
    """The figures reports are made of; erasure must not move any of them."""
    with tenant_context(organization):
        return {
            "leads": Lead.all_objects.count(),
            "by_status": dict(
                Lead.all_objects.values_list("status").annotate(n=Count("id")).order_by()
            ),
            "scores": Lead.all_objects.aggregate(Sum("lead_score")),
            "companies": Company.all_objects.count(),
            "interactions": Interaction.all_objects.count(),
            "pipeline": Opportunity.all_objects.aggregate(Sum("value"), Sum("weighted_value")),
            "stages": dict(
                Opportunity.all_objects.values_list("stage__name")
                .annotate(n=Count("id"))
                .order_by()
            ),
            "proposals": Proposal.all_objects.aggregate(Sum("total"), Count("id")),
            "lines": ProposalLineItem.all_objects.aggregate(Sum("total"), Count("id")),
            "contracts": Contract.all_objects.aggregate(Sum("value"), Count("id")),
            "calls": AICall.all_objects.aggregate(
                Sum("cost"), Sum("duration_seconds"), Count("id")
            ),
            "tasks": Task.all_objects.count(),
        }


def _erase(user, organization, lead, **data):
    return factories.api_client(user, organization).post(
        f"/api/v1/leads/{lead.pk}/erase/", data, format="json"
    )


def test_nothing_personal_is_left_in_any_table_and_figures_do_not_move(
    org_a, admin_a, subject, neighbour
):
    before = aggregates(org_a)
    assert tables_containing(org_a, subject.markers()), "the scan finds nothing to start with"
    response = _erase(admin_a, org_a, subject.lead)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == RequestStatus.COMPLETED
    assert tables_containing(org_a, subject.markers()) == {}
    # The neighbour is untouched, and so are the figures.
    assert set(tables_containing(org_a, neighbour.markers())) >= {
        "leads_lead",
        "leads_historicallead",
        "leads_company",
        "leads_interaction",
        "crm_aicall",
    }
    assert aggregates(org_a) == before
    with tenant_context(org_a):
        lead = Lead.all_objects.get(pk=subject.lead.pk)
        assert lead.do_not_contact and not lead.consent_to_contact
        assert lead.company.city == "Leeds"
        assert lead.company.online_presence == {"website_status": "outdated", "google_rating": 4.5}
        opportunity = Opportunity.all_objects.get(lead=lead)
        assert opportunity.value == Decimal("1500.00")
        assert opportunity.name == "Website for [erased]"


def test_erasure_is_audited_with_ids_and_counts_only(org_a, admin_a, subject):
    _erase(admin_a, org_a, subject.lead)
    with tenant_context(org_a):
        event = AuditLog.objects.get(action=AuditAction.ERASURE)
        request = SubjectRequest.objects.get(pk=event.details["subject_request"])
        # Two emails (the merged lead had another one) and one phone.
        assert SuppressionEntry.objects.filter(subject_request=request).count() == 3
    assert event.target_id == str(subject.lead.pk) and event.actor_id == admin_a.pk
    assert request.kind == RequestKind.ERASURE
    assert event.details["rows"]["leads.lead"]["records"] == 2
    assert event.details["cancelled_calls"] == 1
    logged = json.dumps(event.details).lower()
    for marker in subject.markers():
        assert marker not in logged


def test_erasure_of_another_organizations_subject_is_404(org_b, admin_b, subject):
    assert _erase(admin_b, org_b, subject.lead).status_code == 404
    assert tables_containing(subject.organization, subject.markers())


@pytest.mark.parametrize("role", ["sales_manager", "read_only"])
def test_erasure_without_the_permission_is_403(org_a, subject, role):
    user = factories.make_member(org_a, role)
    assert _erase(user, org_a, subject.lead).status_code == 403
    assert "leads_lead" in tables_containing(org_a, subject.markers())


def test_erasure_needs_delete_on_the_lead_too(org_a, subject):
    """A custom role with compliance:delete but no leads:delete is refused."""
    user = factories.make_member(org_a, "sales_rep")
    with factories.acting_as(user, org_a) as membership:
        membership._role_grants = {("compliance", "delete"): "all", ("leads", "read"): "all"}
        with pytest.raises(PermissionDenied):
            services.erase_subject(lead=subject.lead, acting_user=user)


def test_queued_calls_are_cancelled_and_late_reports_write_nothing(org_a, admin_a, subject):
    _erase(admin_a, org_a, subject.lead)
    with tenant_context(org_a):
        queued = AICall.objects.get(pk=subject.rows["queued_call"].pk)
        assert queued.status == AICallStatus.FAILED
        call, written = ai_call_record_result(
            report=CallReport(
                provider_call_id=subject.rows["done_call"].provider_call_id,
                status=AICallStatus.COMPLETED,
                transcript=f"{subject.name} again",
            )
        )
    assert not written and call.transcript == ""


def test_a_late_webhook_delivery_for_an_erased_subject_is_not_recorded(
    client, org_a, admin_a, subject
):
    secret = crm_factories.webhook_secret(org_a)
    _erase(admin_a, org_a, subject.lead)
    response = crm_factories.deliver(
        client,
        org_a,
        secret,
        {
            "call_id": subject.rows["done_call"].provider_call_id,
            "status": "completed",
            "transcript": f"{subject.name} on {subject.phone}",
            "summary": subject.email,
        },
    )
    assert response.status_code == 200 and response.json()["recorded"] is False
    assert tables_containing(org_a, subject.markers()) == {}


def test_erase_command_needs_yes(org_a, subject):
    with pytest.raises(CommandError):
        call_command("erase_subject", str(subject.lead.pk), organization="acme")
    out = io.StringIO()
    call_command("erase_subject", str(subject.lead.pk), organization="acme", yes=True, stdout=out)
    assert json.loads(out.getvalue())["cancelled_calls"] == 1
    assert tables_containing(org_a, subject.markers()) == {}


def test_erasure_from_the_admin_asks_first(client, org_a, admin_a, subject):
    client.force_login(admin_a)
    form = {"action": "erase_subject_data", "_selected_action": [str(subject.lead.pk)]}
    page = client.post("/admin/leads/lead/", form)
    assert page.status_code == 200 and b"cannot be undone" in page.content
    assert tables_containing(org_a, subject.markers())
    done = client.post("/admin/leads/lead/", {**form, "confirm": "yes"})
    assert done.status_code == 302
    assert tables_containing(org_a, subject.markers()) == {}


def test_an_open_request_is_fulfilled_by_the_erasure(org_a, admin_a, subject):
    with factories.acting_as(admin_a, org_a):
        pending = services.subject_request_open(
            kind=RequestKind.ERASURE,
            lead=subject.lead,
            acting_user=admin_a,
            notes=f"{subject.name} phoned in",
        )
    response = _erase(admin_a, org_a, subject.lead, subject_request=str(pending.pk))
    assert response.json()["id"] == str(pending.pk)
    with tenant_context(org_a):
        pending.refresh_from_db()
    assert pending.status == RequestStatus.COMPLETED and pending.notes == ""


def test_erasure_clears_where_the_subjects_changes_came_from(org_a, admin_a, subject, neighbour):
    """The client address and user agent of each change identify a person too; the
    request id stays, to match the change with the logs."""
    client = factories.api_client(admin_a, org_a)
    for person in (subject, neighbour):
        response = client.patch(
            f"/api/v1/leads/{person.lead.pk}/",
            {"notes": "Called back"},
            format="json",
            REMOTE_ADDR="198.51.100.23",
            HTTP_USER_AGENT="Quill browser 7",
            HTTP_X_REQUEST_ID=f"erasure-test-{person.lead.pk}",
        )
        assert response.status_code == 200, response.content

    assert _erase(admin_a, org_a, subject.lead).status_code == 200

    with tenant_context(org_a):
        erased = Lead.history.filter(id=subject.lead.pk)
        assert erased.filter(history_request_id=f"erasure-test-{subject.lead.pk}").exists()
        assert not erased.filter(history_ip_address__isnull=False).exists()
        assert not erased.exclude(history_user_agent="").exists()
        kept = Lead.history.filter(
            id=neighbour.lead.pk, history_request_id=f"erasure-test-{neighbour.lead.pk}"
        )
        assert set(kept.values_list("history_ip_address", "history_user_agent")) == {
            ("198.51.100.23", "Quill browser 7")
        }
