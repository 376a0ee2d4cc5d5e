"""Tenant rows written and read as the application does, on a drill's own server."""

from __future__ import annotations

import uuid

import psycopg

from smartweb.tenancy.context import ORGANIZATION_SETTING

NEW_ORGANIZATION = (
    "INSERT INTO accounts_organization (id, created_at, updated_at, name, slug, plan,"
    " settings, is_active) VALUES (%(id)s, now(), now(), %(name)s, %(name)s, 'free', '{}', true)"
)
NEW_TEAM = (
    "INSERT INTO accounts_team (id, created_at, updated_at, name, organization_id)"
    " VALUES (gen_random_uuid(), now(), now(), %s, %s)"
)


def add_teams(runtime_url: str, organization: uuid.UUID, *names: str) -> None:
    """As the application does: the runtime role, in the organization's context."""
    with psycopg.connect(runtime_url) as conn:
        conn.execute("SELECT set_config(%s, %s, true)", [ORGANIZATION_SETTING, str(organization)])
        for name in names:
            conn.execute(NEW_TEAM, [name, organization])


def team_names(runtime_url: str, organization: uuid.UUID | None) -> list[str]:
    with psycopg.connect(runtime_url) as conn:
        if organization:
            conn.execute(
                "SELECT set_config(%s, %s, true)", [ORGANIZATION_SETTING, str(organization)]
            )
        return [row[0] for row in conn.execute("SELECT name FROM accounts_team ORDER BY name")]
