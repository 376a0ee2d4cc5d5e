"""Retention: the purge removes what has expired and nothing else, in one organization,
and the dry run only counts."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AuditLog, IdempotentRequest
from compliance import retention
from leads.models import Company, Interaction, Lead
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - dt.timedelta(days=400)
LAST_WEEK = timezone.now() - dt.timedelta(days=7)
VERY_LONG_AGO = timezone.now() - dt.timedelta(days=800)


def _deleted(organization, name: str, when: dt.datetime) -> Lead:
    """A lead (and its company and a note) deleted at `when`."""
    lead = make_lead(organization, contact_name=name, company={"name": f"{name} Ltd"})
    with tenant_context(organization):
        Interaction.objects.create(
            organization_id=organization.pk, lead=lead, type="note", content=f"About {name}"
        )
        lead.company.delete()
        deleted_at = Company.all_objects.get(pk=lead.company_id).deleted_at
        for model in (Company, Lead, Interaction):
            model.all_objects.filter(deleted_at=deleted_at).update(deleted_at=when)
    return lead


def _exists(organization, model, pk) -> bool:
    """Deleted or not, as the organization's context (RLS) sees it."""
    with tenant_context(organization):
        return model._base_manager.filter(pk=pk).exists()


def test_purge_removes_only_what_expired(org_a, org_b):
    old = _deleted(org_a, "Old Timer", LONG_AGO)
    recent = _deleted(org_a, "Fresh Loss", LAST_WEEK)
    alive = make_lead(org_a, contact_name="Still Here")
    other = _deleted(org_b, "Other Org", LONG_AGO)
    with tenant_context(org_a):
        Lead.history.filter(id=alive.pk).update(history_date=VERY_LONG_AGO)
        alive.contact_title = "Boss"
        alive.save()
        planned = retention.plan(org_a)
    assert planned["deleted"] == {"leads_company": 1, "leads_lead": 1, "leads_interaction": 1}
    assert planned["history"]["leads_historicallead"] >= 1

    out = io.StringIO()
    call_command("purge_expired", organization="acme", no_progress=True, stdout=out)
    assert "leads_lead: 1" in out.getvalue()

    assert not _exists(org_a, Lead, old.pk) and not _exists(org_a, Company, old.company_id)
    assert _exists(org_a, Lead, recent.pk) and _exists(org_a, Lead, alive.pk)
    assert _exists(org_b, Lead, other.pk)
    with tenant_context(org_a):
        assert not Lead.history.filter(id=old.pk).exists()
        assert not Interaction.history.filter(lead_id=old.pk).exists()
        assert Lead.history.filter(id=recent.pk).exists()
        assert list(Lead.history.filter(id=alive.pk).values_list("contact_title", flat=True)) == [
            "Boss"
        ]
        assert AuditLog.objects.filter(action=retention.PURGE_AUDIT_ACTION).exists()
        assert retention.plan(org_a) == {}


def test_security_logs_are_purged_by_the_owner_role(transactional_db, org_a, org_b):
    """The runtime role may not delete from the audit log: the purge's own connection as
    the owner does, in the organization's context (committed rows, so it sees them)."""
    with tenant_context(org_a):
        old = AuditLog.objects.create(
            organization_id=org_a.pk, action="auth.login", created_at=VERY_LONG_AGO
        )
        new = AuditLog.objects.create(organization_id=org_a.pk, action="auth.login")
        assert retention.plan(org_a)["security_logs"] == {"audit_logs": 1}
    with tenant_context(org_b):
        other = AuditLog.objects.create(
            organization_id=org_b.pk, action="auth.login", created_at=VERY_LONG_AGO
        )
    AuditLog.objects.create(action="auth.login_failed", created_at=VERY_LONG_AGO)
    out = io.StringIO()
    call_command("purge_expired", organization="acme", no_progress=True, stdout=out)
    assert "audit_logs: 1" in out.getvalue()
    with tenant_context(org_a):
        assert not AuditLog.objects.filter(pk=old.pk).exists()
        assert AuditLog.objects.filter(pk=new.pk).exists()
    with tenant_context(org_b):
        assert AuditLog.objects.filter(pk=other.pk).exists()
    assert retention.purge_unassigned_security_logs(dry_run=True) == 1
    call_command("purge_expired", "--all", "--no-progress", stdout=io.StringIO())
    assert retention.purge_unassigned_security_logs(dry_run=True) == 0
    with tenant_context(org_b):
        assert not AuditLog.objects.filter(pk=other.pk).exists()


def _remembered_answer(organization, key: str, expires_at: dt.datetime) -> IdempotentRequest:
    with tenant_context(organization):
        return IdempotentRequest.objects.create(
            user=factories.org_admin(organization),
            key=key,
            endpoint="/api/v1/tasks/",
            fingerprint="0" * 64,
            status_code=201,
            response_body={},
            expires_at=expires_at,
        )


def test_expired_idempotency_keys_are_purged_whatever_the_settings(org_a, org_b):
    expired = _remembered_answer(org_a, "old", LAST_WEEK)
    live = _remembered_answer(org_a, "new", timezone.now() + dt.timedelta(hours=1))
    other = _remembered_answer(org_b, "old", LAST_WEEK)
    with tenant_context(org_a):
        org_a.settings = {"retention": {"deleted_days": None, "history_days": None}}
        org_a.save(update_fields=["settings"])
        assert retention.plan(org_a) == {"idempotency_keys": {"accounts_idempotentrequest": 1}}

    call_command("purge_expired", organization="acme", no_progress=True, stdout=io.StringIO())

    assert not _exists(org_a, IdempotentRequest, expired.pk)
    assert _exists(org_a, IdempotentRequest, live.pk)
    assert _exists(org_b, IdempotentRequest, other.pk)


def test_dry_run_deletes_nothing(org_a):
    old = _deleted(org_a, "Old Timer", LONG_AGO)
    out = io.StringIO()
    call_command("purge_expired", "--all", "--dry-run", "--no-progress", stdout=out)
    assert "would remove" in out.getvalue() and "leads_lead: 1" in out.getvalue()
    assert _exists(org_a, Lead, old.pk)


def test_a_row_still_referenced_by_a_live_row_is_kept(org_a):
    lead = make_lead(org_a, contact_name="Kept Company")
    with tenant_context(org_a):
        Company.all_objects.filter(pk=lead.company_id).update(deleted_at=LONG_AGO)
        removed = retention.steps(org_a)[
            [s.table for s in retention.steps(org_a)].index("leads_company")
        ].run()
    assert removed == {"leads_company (kept: still referenced)": 1}
    assert _exists(org_a, Company, lead.company_id)


def test_settings_are_per_organization_and_validated(org_a):
    org_a.settings = {"retention": {"deleted_days": 500, "history_days": None}}
    org_a.save()
    _deleted(org_a, "Old Timer", LONG_AGO)
    with tenant_context(org_a):
        assert retention.plan(org_a).get("deleted") is None
        assert "history" not in {s.kind for s in retention.steps(org_a)}
    for bad in ({"deleted_days": 0}, {"deleted_days": "30"}, {"forever": 1}, []):
        with pytest.raises(ValidationError):
            retention.clean_retention(bad)


def test_soft_deletable_models_come_before_what_they_protect():
    order = [m._meta.label for m in retention.soft_deletable_models()]
    assert order.index("crm.Opportunity") < order.index("leads.Lead") < order.index("leads.Company")
    assert order.index("crm.Contract") < order.index("crm.Proposal")
