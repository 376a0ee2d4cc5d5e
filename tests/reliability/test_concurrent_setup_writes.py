"""Concurrent edits of an organization's set-up through the API, against four web
workers: its name and settings, teams, roles and their permissions, memberships,
pipelines and their stages, as several admins changing them at once would. Nothing
acknowledged is lost, a stale `If-Match` is refused, the organization always keeps an
active admin, and a name created twice at once is refused by name."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Invitation, Membership, Role
from crm import services as crm_services
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.reliability.clients import admin_session, at_once

ROUNDS = 6


@pytest.fixture(scope="module")
def setup(django_db_blocker, live_url):
    """An organization of its own (its admins are demoted here), with three reps, a team,
    a custom role and a pipeline, and its admin's API session."""
    with django_db_blocker.unblock():
        organization = factories.make_organization("Concurrent Set-up")
        admin = factories.org_admin(organization)
        reps = [factories.make_member(organization, "sales_rep") for _ in range(3)]
        team = factories.make_team(organization, "North")
        with tenant_context(organization):
            role = Role.objects.create(organization=organization, name="Caller", slug="caller")
            pipeline = crm_services.pipeline_create(name="Renewals", acting_user=None)
            stage = pipeline.stages.order_by("position").first()
            roles = {r.slug: str(r.pk) for r in Role.objects.all()}
            membership = Membership.objects.get(user=reps[0])
        session = admin_session(organization, name="set-up", user=admin)
    return {
        "organization": organization,
        "admin": admin,
        "reps": reps,
        "session": session,
        "roles": roles,
        "ids": {
            "teams": team.pk,
            "roles": role.pk,
            "memberships": membership.pk,
            "pipeline-stages": stage.pk,
            "organizations": organization.pk,
        },
        "team": str(team.pk),
    }


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


# Per resource, each field edited by its own client: its value in a round (each round
# changes every field, so a lost write shows), and how the answer shows it.
FIELDS = {
    "teams": {
        "name": lambda s, r: _unique("Team"),
        "manager": lambda s, r: str(s["reps"][r % 3].pk),
    },
    "roles": {
        "name": lambda s, r: _unique("Caller"),
        "description": lambda s, r: _unique("calls"),
        "back_office": lambda s, r: r % 2 == 0,
    },
    "memberships": {
        "role": lambda s, r: s["roles"]["sales_manager" if r % 2 == 0 else "sales_rep"],
        "team": lambda s, r: s["team"] if r % 2 == 0 else None,
        "is_active": lambda s, r: r % 2 == 1,
    },
    "organizations": {
        "name": lambda s, r: _unique("Concurrent Set-up"),
        "settings": lambda s, r: {"qualification_threshold": 40 + r},
    },
    "pipeline-stages": {
        "name": lambda s, r: _unique("Stage"),
        "probability": lambda s, r: f"{10 + r}.00",
    },
}


def _shown(body: dict, field: str):
    value = body[field]
    # A reference is shown as a summary with its id; settings are a JSON object.
    return value["id"] if isinstance(value, dict) and "id" in value else value


@pytest.mark.parametrize("resource", FIELDS)
def test_concurrent_edits_of_different_fields_lose_nothing(setup, live_url, resource, read):
    session, fields = setup["session"], FIELDS[resource]
    url = f"{live_url}/api/v1/{resource}/{setup['ids'][resource]}/"
    lost, refused = [], []
    for round_no in range(ROUNDS):
        values = {name: value(setup, round_no) for name, value in fields.items()}
        responses = at_once(
            lambda name, v=values: session.patch(url, json={name: v[name]}, timeout=60), fields
        )
        refused += [r.text[:200] for r in responses if r.status_code != 200]
        stored = session.get(url, timeout=60).json()
        lost += [(name, values[name], _shown(stored, name)) for name in fields]
        lost = [(name, sent, shown) for name, sent, shown in lost if sent != shown]
    assert (lost, refused) == ([], [])


def test_an_organization_keeps_an_admin_when_its_admins_are_demoted_at_once(setup, live_url, read):
    organization, session = setup["organization"], setup["session"]
    admins = [setup["admin"], *setup["reps"]]
    demoted = {"role": setup["roles"]["sales_rep"]}
    try:
        for _ in range(ROUNDS):
            with tenant_context(organization):
                Membership.objects.filter(user__in=admins).update(
                    role=setup["roles"]["org_admin"], is_active=True
                )
                ids = [str(m.pk) for m in Membership.objects.filter(user__in=admins)]
            answers = at_once(
                lambda pk: session.patch(
                    f"{live_url}/api/v1/memberships/{pk}/", json=demoted, timeout=60
                ),
                ids,
            )
            codes = [r.status_code for r in answers]
            assert set(codes) <= {200, 400, 403}, [r.text[:200] for r in answers]
            with tenant_context(organization):
                left = {
                    str(pk)
                    for pk in Membership.objects.filter(
                        role__slug="org_admin", is_active=True
                    ).values_list("pk", flat=True)
                }
            # One admin at least is left, each demotion acknowledged happened, and each
            # admin left was refused: as the last admin, or as no admin any more (the
            # signed-in admin's own demotion may commit before another request's
            # permission check, and then more than one is left).
            assert left, codes
            for pk, answer in zip(ids, answers, strict=True):
                assert (answer.status_code == 200) == (pk not in left), codes
                if pk in left:
                    assert answer.status_code == 403 or (
                        answer.status_code == 400
                        and "at least one active Organization Admin" in answer.text
                    ), (answer.status_code, answer.text[:200])
    finally:
        with tenant_context(organization):
            Membership.objects.filter(user=setup["admin"]).update(
                role=setup["roles"]["org_admin"], is_active=True
            )


def _permissions(scope: str, resource: str) -> list[dict]:
    return [
        {"resource": "leads", "action": "read", "scope": scope},
        {"resource": resource, "action": "read", "scope": "own"},
    ]


GRANTS = [
    _permissions(scope, resource)
    for scope in ("own", "team", "all")
    for resource in ("tasks", "opportunities")
]


def _grants(permissions: list[dict]) -> list[tuple]:
    return sorted((p["resource"], p["action"], p["scope"]) for p in permissions)


def test_a_roles_permissions_replaced_at_once_keep_one_acknowledged_set(setup, live_url, read):
    session = setup["session"]
    url = f"{live_url}/api/v1/roles/{setup['ids']['roles']}/"
    for _ in range(ROUNDS):
        answers = at_once(
            lambda grants: session.patch(url, json={"permissions": grants}, timeout=60), GRANTS
        )
        # Each waits for the one before: none is refused as a duplicate.
        assert [r.status_code for r in answers] == [200] * len(GRANTS), [
            r.text[:200] for r in answers
        ]
        stored = _grants(session.get(url, timeout=60).json()["permissions"])
        assert stored in [_grants(grants) for grants in GRANTS]


def test_a_roles_permissions_replaced_at_once_with_if_match_accept_exactly_one(
    setup, live_url, read
):
    session = setup["session"]
    url = f"{live_url}/api/v1/roles/{setup['ids']['roles']}/"
    for round_no in range(ROUNDS):
        # From another set than every one sent: each is a change.
        session.patch(url, json={"permissions": _permissions("own", "proposals")}, timeout=60)
        version = {"If-Match": session.get(url, timeout=60).headers["ETag"]}
        answers = at_once(
            lambda grants, tag=version: session.patch(
                url, json={"permissions": grants}, headers=tag, timeout=60
            ),
            GRANTS,
        )
        codes = [r.status_code for r in answers]
        assert sorted(codes) == [200] + [412] * (len(GRANTS) - 1), (round_no, codes)
        winner = GRANTS[codes.index(200)]
        stale = next(r for r in answers if r.status_code == 412)
        assert _grants(stale.json()["error"]["details"]["current"]["permissions"]) == (
            _grants(winner)
        )
        assert _grants(session.get(url, timeout=60).json()["permissions"]) == _grants(winner)


def test_pipelines_made_the_default_at_once_are_each_acknowledged(setup, live_url, read):
    session = setup["session"]
    with tenant_context(setup["organization"]):
        pipelines = [
            str(crm_services.pipeline_create(name=_unique("Pipeline"), acting_user=None).pk)
            for _ in range(4)
        ]
    for _ in range(ROUNDS):
        answers = at_once(
            lambda pk: session.patch(
                f"{live_url}/api/v1/pipelines/{pk}/", json={"is_default": True}, timeout=60
            ),
            pipelines,
        )
        # Each waits for the one before, and takes over from it: none is refused as a
        # duplicate of the default it replaces.
        assert [r.status_code for r in answers] == [200] * len(pipelines), [
            r.text[:200] for r in answers if r.status_code != 200
        ]
        listed = session.get(f"{live_url}/api/v1/pipelines/?page_size=50", timeout=60).json()
        assert len([p for p in listed["results"] if p["is_default"]]) == 1


# A name each organization holds once, and the body that creates a row with it.
NAMED = {
    "tags": lambda name: {"name": name},
    "teams": lambda name: {"name": name},
    "roles": lambda name: {"name": name, "permissions": []},
    "pipelines": lambda name: {"name": name},
}


@pytest.mark.parametrize("resource", NAMED)
def test_one_name_created_by_several_clients_at_once_is_refused_by_name(
    setup, live_url, resource, read
):
    session = setup["session"]
    for _ in range(ROUNDS):
        name = _unique("Same")
        answers = at_once(
            lambda _, n=name: session.post(
                f"{live_url}/api/v1/{resource}/", json=NAMED[resource](n), timeout=60
            )
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [201] + [400] * (len(answers) - 1), [r.text[:300] for r in answers]
        # As a duplicate sent later is (at the name, or a role's slug made from it), not
        # as a bare conflict.
        for refused in (r for r in answers if r.status_code == 400):
            assert "exists" in str(refused.json()["error"]["details"]), refused.text


def test_one_email_invited_by_several_clients_at_once_is_invited_once(setup, live_url, read):
    """Inviting an email again replaces its open invitation: sent at once, each waits for
    the one before and replaces it, none collides with another's as a duplicate."""
    session, role = setup["session"], setup["roles"]["sales_rep"]
    for _ in range(ROUNDS):
        email = f"invited-{uuid.uuid4().hex[:8]}@invitee.example"
        answers = at_once(
            lambda _, e=email: session.post(
                f"{live_url}/api/v1/invitations/", json={"email": e, "role": role}, timeout=60
            ),
            range(4),
        )
        assert [r.status_code for r in answers] == [202] * 4, [r.text[:200] for r in answers]
        with tenant_context(setup["organization"]):
            invited = Invitation.objects.filter(email=email)
            assert invited.filter(accepted_at=None, revoked_at=None).count() == 1
            assert invited.count() == 4
