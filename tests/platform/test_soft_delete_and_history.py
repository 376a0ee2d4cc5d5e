"""Soft delete, restore, partial uniqueness and history, on a real tenant model (Team)."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Team
from smartweb.errors import Refusal
from smartweb.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def acting(org_a, admin_a):
    with tenant_context(org_a, user=admin_a):
        yield admin_a


def test_deleted_rows_are_hidden_by_default_and_listed_by_all_objects(acting):
    team = Team.objects.create(name="Roofers desk")
    team.delete()
    assert not Team.objects.filter(pk=team.pk).exists()
    assert Team.all_objects.get(pk=team.pk).deleted_at is not None
    assert Team.all_objects.get(pk=team.pk).deleted_by == acting


def test_queryset_delete_soft_deletes_each_row(acting):
    Team.objects.create(name="One")
    Team.objects.create(name="Two")
    count, _ = Team.objects.filter(name__in=["One", "Two"]).delete()
    assert count == 2
    assert Team.all_objects.filter(name__in=["One", "Two"], deleted_at__isnull=False).count() == 2


def test_restore_brings_a_row_back(acting):
    team = Team.objects.create(name="Plumbing")
    team.delete()
    Team.all_objects.get(pk=team.pk).restore()
    assert Team.objects.get(pk=team.pk).deleted_by is None


def test_name_is_unique_among_active_rows_only(acting):
    first = Team.objects.create(name="Electricians")
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(name="Electricians")
    first.delete()
    Team.objects.create(name="Electricians")
    # Refused in words (what it would duplicate), not by the constraint's name.
    with pytest.raises(Refusal, match="^Restoring it would make two teams with the same name.$"):
        first.restore()
    assert Team.all_objects.get(pk=first.pk).is_deleted


def test_hard_delete_only_when_asked(acting):
    team = Team.objects.create(name="Temporary")
    team.delete(hard=True)
    assert not Team.all_objects.filter(pk=team.pk).exists()


def test_history_records_each_change_with_the_acting_user(acting):
    team = Team.objects.create(name="HVAC")
    team.name = "HVAC and heating"
    team.save()
    team.delete()
    Team.all_objects.get(pk=team.pk).restore()
    records = list(team.history.order_by("history_date"))
    assert [r.history_type for r in records] == ["+", "~", "~", "~"]
    assert [r.name for r in records][:2] == ["HVAC", "HVAC and heating"]
    assert records[2].deleted_at is not None and records[3].deleted_at is None
    assert {r.history_user_id for r in records} == {acting.pk}
    assert {r.organization_id for r in records} == {team.organization_id}


def test_history_rows_are_invisible_to_another_organization(acting, org_b):
    team = Team.objects.create(name="Landscaping")
    with tenant_context(org_b):
        assert not Team.history.filter(id=team.pk).exists()
