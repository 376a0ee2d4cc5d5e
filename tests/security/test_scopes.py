"""Role scopes, generically: for each owned resource, each default role sees exactly the
rows its scope allows (own / team / all), and another organization sees none.

A new owned resource plugs in by adding a builder to SCOPED_RESOURCES: a function
(organization, owner) -> a saved object whose `scope_owner_field` is `owner`.
"""

from __future__ import annotations

import pytest

from leads.models import Company, Interaction, Lead
from smartweb import access
from smartweb.rbac import Action, Scope
from smartweb.tenancy.context import tenant_context
from tests.factories import acting_as, api_client, share

pytestmark = pytest.mark.django_db


def build_lead(organization, owner):
    company = Company.objects.create(name=f"Company of {owner.email}")
    return Lead.objects.create(company=company, assigned_to=owner)


def build_interaction(organization, owner):
    return Interaction.objects.create(lead=build_lead(organization, owner), type="note")


SCOPED_RESOURCES = {
    "lead": build_lead,
    "interaction": build_interaction,
}


@pytest.fixture
def people(org_a, admin_a, manager_a, rep_a, rep_a2, readonly_a):
    return {
        "admin": admin_a,
        "manager": manager_a,
        "rep": rep_a,
        "rep_other_team": rep_a2,
        "readonly": readonly_a,
    }


# Who each person sees, by the owner of the row. manager and rep share a team.
EXPECTED = {
    "admin": {"admin", "manager", "rep", "rep_other_team"},
    "manager": {"manager", "rep"},
    "rep": {"rep"},
    "rep_other_team": {"rep_other_team"},
    "readonly": {"admin", "manager", "rep", "rep_other_team"},
}


@pytest.mark.parametrize("resource", sorted(SCOPED_RESOURCES))
@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_each_default_role_sees_its_scope(org_a, people, resource, viewer):
    build = SCOPED_RESOURCES[resource]
    with tenant_context(org_a):
        owned = {key: build(org_a, user) for key, user in people.items() if key != "readonly"}
        model = type(next(iter(owned.values())))
    user = people[viewer]
    with acting_as(user, org_a):
        seen = set(
            access.visible(user, Action.READ, model.objects.all()).values_list("pk", flat=True)
        )
    assert seen == {owned[key].pk for key in EXPECTED[viewer]}


@pytest.mark.parametrize("resource", sorted(SCOPED_RESOURCES))
def test_another_organization_sees_nothing(org_a, org_b, admin_b, people, resource):
    with tenant_context(org_a):
        obj = SCOPED_RESOURCES[resource](org_a, people["rep"])
    model = type(obj)
    with acting_as(admin_b, org_b):
        assert access.scope_for(admin_b, Action.READ, model.rbac_resource) == Scope.ALL
        assert not access.visible(admin_b, Action.READ, model.objects.all()).exists()
        assert not model.all_objects.filter(pk=obj.pk).exists()
        assert not access.can(admin_b, Action.READ, model.rbac_resource, obj=obj)


def test_sales_rep_cannot_delete_even_own_lead(org_a, rep_a):
    with tenant_context(org_a):
        lead = build_lead(org_a, rep_a)
    with acting_as(rep_a, org_a):
        assert access.can(rep_a, Action.UPDATE, "leads", obj=lead)
        assert not access.can(rep_a, Action.DELETE, "leads", obj=lead)


def test_object_grant_shares_one_lead_beyond_the_scope(org_a, rep_a, rep_a2, admin_a):
    with tenant_context(org_a, user=admin_a):
        shared = build_lead(org_a, rep_a)
        private = build_lead(org_a, rep_a)
    share(shared, rep_a2, org_a, by=admin_a)
    with acting_as(rep_a2, org_a):
        seen = set(
            access.visible(rep_a2, Action.READ, Lead.objects.all()).values_list("pk", flat=True)
        )
        assert shared.pk in seen and private.pk not in seen
        assert access.can(rep_a2, Action.READ, "leads", obj=shared)
        assert not access.can(rep_a2, Action.UPDATE, "leads", obj=shared)


def test_an_object_grant_answers_for_its_action_and_resource_only(
    org_a, readonly_a, rep_a, admin_a
):
    """One read grant on one lead must not turn every object-less check into a yes
    (creating leads, changing users, reading audit logs)."""
    with tenant_context(org_a, user=admin_a):
        shared = build_lead(org_a, rep_a)
    share(shared, readonly_a, org_a, by=admin_a)
    share(shared, rep_a, org_a, by=admin_a)
    with acting_as(readonly_a, org_a):
        assert access.can(readonly_a, Action.READ, "leads")
        assert not access.can(readonly_a, Action.CREATE, "leads")
        assert not access.can(readonly_a, Action.UPDATE, "leads")
    with acting_as(rep_a, org_a):
        assert not access.can(rep_a, Action.UPDATE, "users")
        assert not access.can(rep_a, Action.READ, "audit_logs")


def test_a_read_grant_does_not_let_a_read_only_user_create_leads(org_a, readonly_a, admin_a, rep_a):
    with tenant_context(org_a, user=admin_a):
        shared = build_lead(org_a, rep_a)
    share(shared, readonly_a, org_a, by=admin_a)
    client = api_client(readonly_a, org_a)
    assert client.get(f"/api/v1/leads/{shared.pk}/").status_code == 200
    response = client.post("/api/v1/leads/", {"company": {"name": "Sneaky Ltd"}}, format="json")
    assert response.status_code == 403
