"""The database itself guards the global identity, whatever the application does: raw
SQL as the runtime role (the role the tests and the application connect as)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import ProgrammingError

from accounts.models import Membership, User
from crm.models import Opportunity, PipelineStage, Task
from crm.services import pipeline_create
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.crm import factories as crm
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


def _refused(error, sql, params=()):
    with pytest.raises(error), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_runtime_role_cannot_raise_or_clear_platform_flags(rep_a):
    for column in ("is_superuser", "is_staff"):
        _refused(
            ProgrammingError,
            f"UPDATE accounts_user SET {column} = NOT {column} WHERE id = %s",
            [rep_a.pk],
        )
    rep_a.refresh_from_db()
    assert rep_a.is_staff and not rep_a.is_superuser


def test_a_save_that_leaves_the_flags_as_they_are_is_allowed(admin_a):
    admin_a.full_name = "Alex Renamed"
    admin_a.save()
    assert User.objects.get(pk=admin_a.pk).full_name == "Alex Renamed"


def test_a_lead_assigned_to_a_non_member_is_refused(org_a, rep_a, admin_b):
    lead = make_lead(org_a, assigned_to=rep_a)
    with tenant_context(org_a):
        with pytest.raises(IntegrityError), transaction.atomic():
            Lead.objects.filter(pk=lead.pk).update(assigned_to=admin_b)
        assert Lead.objects.get(pk=lead.pk).assigned_to_id == rep_a.pk


def test_an_opportunity_owned_by_a_non_member_is_refused(org_a, rep_a, admin_b):
    opportunity = crm.opportunity(org_a, owner=rep_a)
    with tenant_context(org_a), pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(owner=admin_b)


def test_a_task_assigned_to_a_non_member_is_refused(org_a, rep_a, admin_b):
    with tenant_context(org_a):
        task = Task.objects.create(title="Call back", assigned_to=rep_a)
        with pytest.raises(IntegrityError), transaction.atomic():
            Task.objects.filter(pk=task.pk).update(assigned_to=admin_b)
        with pytest.raises(IntegrityError), transaction.atomic():
            Task.objects.create(title="Call back", assigned_to=admin_b)


def test_a_removed_member_still_owns_their_rows_until_reassigned(org_a, admin_a, rep_a):
    lead = make_lead(org_a, assigned_to=rep_a)
    with factories.acting_as(admin_a, org_a):
        from accounts import services

        services.membership_delete(
            membership=Membership.objects.get(user=rep_a), acting_user=admin_a
        )
        assert Lead.objects.get(pk=lead.pk).assigned_to_id == rep_a.pk
        # The membership row is kept (soft-deleted): it cannot be dropped under the lead.
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.all_objects.get(user=rep_a).hard_delete()


def test_an_opportunity_at_a_stage_of_another_pipeline_is_refused(org_a, rep_a):
    opportunity = crm.opportunity(org_a, owner=rep_a)
    with tenant_context(org_a):
        other = pipeline_create(name="Renewals", acting_user=None)
        foreign_stage = PipelineStage.objects.filter(pipeline=other).first()
        with pytest.raises(IntegrityError), transaction.atomic():
            Opportunity.objects.filter(pk=opportunity.pk).update(stage=foreign_stage)
        # Moving to the other pipeline with its stage, in one write, is fine.
        Opportunity.objects.filter(pk=opportunity.pk).update(pipeline=other, stage=foreign_stage)


def test_the_runtime_role_cannot_read_or_write_the_admin_change_log(admin_a):
    _refused(ProgrammingError, "SELECT count(*) FROM django_admin_log")
    _refused(
        ProgrammingError,
        "INSERT INTO django_admin_log (action_time, user_id, object_repr, action_flag,"
        " change_message) VALUES (now(), %s, 'Lead of Acme', 2, 'Changed status')",
        [admin_a.pk],
    )
