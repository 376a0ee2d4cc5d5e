"""The permission matrix, generated from smartweb.rbac's declaration: for each default role
and a custom role, every resource x action, object-less and on rows needing each scope
(own / team / all), with and without object grants, through the permission service, the
API and the admin. A cell that differs from the declaration fails, named.

The admin may refuse more than the declaration where a page is narrower by design
(append-only logs, read-only dashboards, drafts only): an admin permission method a model
admin overrides may never allow more; one it inherits must answer exactly.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import RequestFactory

from accounts import services as account_services
from accounts.models import Membership, Team, UserObjectGrant
from leads.models import Lead
from smartweb import access
from smartweb.admin import TenantModelAdmin
from smartweb.rbac import Action, Resource, Scope
from tests.factories import acting_as, session_client
from tests.security.conftest import committed_for_module
from tests.security.matrix_world import ROLES, allows, build_world
from tests.security.routes import resources_of, tenant_list_routes

pytestmark = pytest.mark.django_db

OBJECT_ACTIONS = (Action.READ, Action.UPDATE, Action.DELETE)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with committed_for_module(django_db_blocker):
        yield build_world()


def _grants_for(world, user):
    """One object grant per object action, each on a different row of the outsider's, and
    the read grant of a share of their lead, which its notes are read with
    (`shared_with_parent`): (model, pk, action)."""
    chain = world.chains[str(world.outsider.pk)]
    models = sorted(chain, key=lambda m: m._meta.label)
    return {
        (model, chain[model].pk, action)
        for model, action in zip(models[::3], OBJECT_ACTIONS, strict=False)
    } | {(Lead, chain[Lead].pk, Action.READ)}


def _granted_rows(model, row, action) -> set[tuple[type, object]]:
    """The rows whose grant of `action` reaches `row`: itself, and its parent when the
    model is read with it (`shared_with_parent`)."""
    rows = {(model, row.pk)}
    parent = getattr(model, "shared_with_parent", {}).get(action)
    if parent is not None:
        rows.add((model._meta.get_field(parent).related_model, getattr(row, f"{parent}_id")))
    return rows


def _expected_object(role, model, row, needed, action, grants) -> bool:
    """The role's scope gives it, or a grant of it on this row (or on the parent it is
    read with) within a scope the role gives for that action (a grant never stands in
    for the role)."""
    needed = needed or access.unowned_scope(model, action)
    granted = any(
        (granted_model, pk, action) in grants
        for granted_model, pk in _granted_rows(model, row, action)
    ) and allows(role, model.rbac_resource, action)
    return allows(role, model.rbac_resource, action, needed) or granted


def _expected(role, resource, action) -> bool:
    """Object-less: the role gives it (on some row); grants add rows, not actions."""
    return allows(role, resource, action)


def _give(world, user, grants):
    """The grant rows as stored: of any action on any owned model, beyond the shares of
    leads and opportunities users give (sharing.services). The permission service answers
    for whatever rows there are (an organization moved in from another database)."""
    with acting_as(world.people["org_admin"], world.organization):
        for model, pk, action in grants:
            permission = Permission.objects.get(
                content_type=ContentType.objects.get_for_model(model),
                codename=access.grant_codename(action, model),
            )
            UserObjectGrant.objects.get_or_create(  # the world is kept across tests
                organization=world.organization,
                user=user,
                permission=permission,
                content_type=permission.content_type,
                object_pk=str(pk),
            )
    user.__dict__.pop("_has_object_grants", None)  # asked again, as by a new request


def _owned_models_missing(world):
    """Models with an owner whose rows the world does not build: their cells would go
    unchecked."""
    from django.apps import apps

    built = set(world.chains[str(world.outsider.pk)])
    return sorted(
        m._meta.label
        for m in apps.get_models()
        if getattr(m, "scope_owner_field", None) and m not in built
    )


def test_every_owned_model_has_rows_in_the_matrix(world):
    assert _owned_models_missing(world) == []


# --- the permission service -----------------------------------------------------------


def _service_cells(world, role, grants):
    user = world.people[role]
    wrong = []
    with acting_as(user, world.organization):
        for resource in Resource:
            for action in Action:
                answer = access.can(user, action, resource)
                if answer != _expected(role, resource, action):
                    wrong.append(("can", resource, action, answer))
        for model, row, needed in world.rows_for(user):
            for action in OBJECT_ACTIONS:
                expected = _expected_object(role, model, row, needed, action, grants)
                answer = access.can(user, action, model.rbac_resource, obj=row)
                seen = access.visible(user, action, model._default_manager.filter(pk=row.pk))
                if (answer, seen.exists()) != (expected, expected):
                    wrong.append((model.__name__, needed, action, answer, seen.exists()))
    return wrong


@pytest.mark.parametrize("with_grants", [False, True], ids=["roles", "grants"])
@pytest.mark.parametrize("role", ROLES)
def test_the_permission_service_answers_the_declaration(world, role, with_grants):
    user = world.people[role]
    grants = _grants_for(world, user) if with_grants else set()
    _give(world, user, grants)
    wrong = _service_cells(world, role, grants)
    assert not wrong, "\n".join(map(str, wrong))


# --- the API --------------------------------------------------------------------------


def _status(client, method, url, data=None):
    """A request whose writes are undone, so the next cell sees the same rows."""
    with transaction.atomic():
        response = getattr(client, method)(url, data, format="json")
        transaction.set_rollback(True)
    return response.status_code


def _grants_more(user, organization, membership) -> bool:
    """accounts' rule: a member manages only memberships whose role grants no more than
    their own (their own membership aside)."""
    if membership.user_id == user.pk:
        return False
    with acting_as(user, organization):
        grants = account_services.role_grant_map(membership.role)
        try:
            account_services.ensure_grantable(grants=grants, acting_user=user)
        except ValidationError:
            return True
    return False


def _api_answer(world, role, model, row, needed, action, grants, seen):
    """The refusal a write on `row` must get (403 without the permission at all or on a
    row one sees, 404 on a row one does not see), or None when it is allowed."""
    if not _expected(role, model.rbac_resource, action):
        return 403
    if not seen:
        return 404
    if not _expected_object(role, model, row, needed, action, grants):
        return 403
    if model is Membership and _grants_more(world.people[role], world.organization, row):
        return 403
    if model is Team and action == Action.DELETE and _moves_members_above(world, role, row):
        return 403
    return None


def _moves_members_above(world, role, team) -> bool:
    """Deleting a team takes its members out of it (accounts.services.team_delete), a
    change of each membership: refused on one whose role grants more than the user's."""
    user = world.people[role]
    with acting_as(user, world.organization):
        members = list(Membership.objects.filter(team=team))
    return any(_grants_more(user, world.organization, member) for member in members)


def _api_cells(world, role, grants):
    user = world.people[role]
    client = session_client(user, world.organization)
    rows = {}
    for model, row, needed in world.rows_for(user):
        rows.setdefault(model, []).append((row, needed))
    wrong = []
    for url, cls in tenant_list_routes():
        resources = resources_of(cls)
        model = cls.queryset.model
        # A viewset may ask another permission to read (invitations: whoever may invite),
        # or to create (an attachment changes its record).
        needs = getattr(cls, "action_permissions", {})

        def expected(action, resources=resources):
            return any(_expected(role, resource, action) for resource in resources)

        listable = expected(needs.get("list", Action.READ))
        got = _status(client, "get", url)
        if got != (200 if listable else 403):
            wrong.append((url, "list", got))
        read_action = needs.get("retrieve", Action.READ)
        readable = expected(read_action)
        if "post" in cls.http_method_names:
            got = _status(client, "post", url, {})
            if (got != 403) != expected(needs.get("create", Action.CREATE)):
                wrong.append((url, "create", got))
        for row, needed in rows.get(model, []):
            detail = f"{url}{getattr(row, cls.lookup_field)}/"
            seen = _expected_object(role, model, row, needed, read_action, grants)
            got = _status(client, "get", detail)
            if got != (403 if not readable else 200 if seen else 404):
                wrong.append((detail, model.__name__, needed, "read", got))
            for method, action in (("patch", Action.UPDATE), ("delete", Action.DELETE)):
                if method not in cls.http_method_names:
                    continue
                got = _status(client, method, detail, {} if method == "patch" else None)
                if got == 405:
                    continue  # not a method of this row (a line item changes with its proposal)
                refusal = _api_answer(world, role, model, row, needed, action, grants, seen)
                if got != refusal and (refusal is not None or got in (403, 404)):
                    wrong.append((detail, model.__name__, needed, action, got))
    return wrong


@pytest.mark.parametrize("with_grants", [False, True], ids=["roles", "grants"])
@pytest.mark.parametrize("role", ROLES)
def test_the_api_answers_the_declaration(world, role, with_grants):
    user = world.people[role]
    grants = _grants_for(world, user) if with_grants else set()
    _give(world, user, grants)
    wrong = _api_cells(world, role, grants)
    assert not wrong, "\n".join(map(str, wrong))


# --- the admin ------------------------------------------------------------------------

ADMIN_METHODS = {
    Action.READ: "has_view_permission",
    Action.CREATE: "has_add_permission",
    Action.UPDATE: "has_change_permission",
    Action.DELETE: "has_delete_permission",
}


def _tenant_admins():
    return sorted(
        (
            (model, model_admin)
            for model, model_admin in admin.site._registry.items()
            if isinstance(model_admin, TenantModelAdmin)
        ),
        key=lambda pair: pair[0]._meta.label,
    )


def _inherited(model_admin, name) -> bool:
    return getattr(type(model_admin), name) is getattr(TenantModelAdmin, name)


def _admin_cells(world, role, grants):
    user = world.people[role]
    request = RequestFactory().get("/admin/")
    request.user = user
    rows = {}
    for model, row, needed in world.rows_for(user):
        rows.setdefault(model, []).append((row, needed))
    wrong = []

    def check(label, name, model_admin, answer, expected, changes=False):
        """An inherited method answers exactly; an override may refuse more, and (as in
        Django) may show a page to whoever may change it."""
        if _inherited(model_admin, name):
            if answer != expected:
                wrong.append((label, name, answer))
        elif answer and not (expected or (name == "has_view_permission" and changes)):
            wrong.append((label, name, answer))

    with acting_as(user, world.organization):
        for model, model_admin in _tenant_admins():
            resource = model_admin.resource
            changes = _expected(role, resource, Action.UPDATE)
            for action, name in ADMIN_METHODS.items():
                answer = getattr(model_admin, name)(request)
                expected = _expected(role, resource, action)
                check(model._meta.label, name, model_admin, answer, expected, changes)
            for row, needed in rows.get(model, []):
                changes = _expected_object(role, model, row, needed, Action.UPDATE, grants)
                for action in OBJECT_ACTIONS:
                    name = ADMIN_METHODS[action]
                    answer = getattr(model_admin, name)(request, row)
                    expected = _expected_object(role, model, row, needed, action, grants)
                    label = f"{model._meta.label} ({needed})"
                    check(label, name, model_admin, answer, expected, changes)
    client = session_client(user)
    for model, model_admin in _tenant_admins():
        opts = model._meta
        got = _status(client, "get", f"/admin/{opts.app_label}/{opts.model_name}/")
        with acting_as(user, world.organization):
            opens = model_admin.has_view_or_change_permission(request)
        if got != (200 if opens else 403):
            wrong.append((opts.label, "changelist", got))
    return wrong


@pytest.mark.parametrize("with_grants", [False, True], ids=["roles", "grants"])
@pytest.mark.parametrize("role", ROLES)
def test_the_admin_answers_the_declaration(world, role, with_grants):
    user = world.people[role]
    grants = _grants_for(world, user) if with_grants else set()
    _give(world, user, grants)
    wrong = _admin_cells(world, role, grants)
    assert not wrong, "\n".join(map(str, wrong))


def test_scopes_are_ordered_as_the_declaration_ranks_them():
    from smartweb.rbac import SCOPE_RANK
    from tests.security.matrix_world import SCOPE_ORDER

    assert sorted(Scope, key=SCOPE_RANK.get) == list(SCOPE_ORDER)
