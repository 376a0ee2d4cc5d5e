"""Every statement the API and the admin run for a list and a row names the organization
of each tenant table it touches (tests/security/pushdown.py), so that a database sharded
by organization can route it to one shard. Generic over every tenant viewset the URL conf
routes and every tenant model admin, on an organization with a row in every tenant
table."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from smartweb import access
from smartweb.rbac import Action
from tests import factories
from tests.factories import acting_as, session_client
from tests.security import pushdown
from tests.security.populate import populate_every_tenant_table
from tests.security.routes import tenant_admins, tenant_list_routes

pytestmark = pytest.mark.django_db


def test_the_checker_reads_djangos_sql():
    tables = {"leads_lead", "leads_company"}
    routed = (
        'SELECT "leads_lead"."id", "leads_lead"."organization_id" FROM "leads_lead"'
        ' INNER JOIN "leads_company" ON ("leads_lead"."company_id" = "leads_company"."id"'
        ' AND ("leads_company"."organization_id" = "leads_lead"."organization_id"))'
        ' WHERE "leads_lead"."organization_id" = %s'
    )
    assert pushdown.unrouted(routed, tables) == []
    bare_join = routed.replace(
        ' AND ("leads_company"."organization_id" = "leads_lead"."organization_id"))', ")"
    )
    assert pushdown.unrouted(bare_join, tables) == ["leads_company"]
    assert pushdown.unrouted(
        'UPDATE "leads_lead" SET "notes" = %s WHERE "leads_lead"."id" = %s', tables
    ) == ["leads_lead"]
    assert (
        pushdown.unrouted(
            'SELECT 1 FROM "leads_lead" U0 WHERE U0."organization_id" IN (%s)', tables
        )
        == []
    )
    assert (
        pushdown.unrouted(
            'INSERT INTO "leads_lead" ("id", "organization_id") VALUES (%s, %s)', tables
        )
        == []
    )
    assert pushdown.unrouted('INSERT INTO "leads_lead" ("id") VALUES (%s)', tables) == [
        "leads_lead"
    ]


def _pages(organization, user):
    client = session_client(user, organization)
    for url, cls in tenant_list_routes():
        yield url, lambda url=url: client.get(url)
        with acting_as(user, organization):
            model = cls.queryset.model
            row = access.visible(user, Action.READ, model._default_manager.all()).first()
        if row is not None:
            detail = f"{url}{getattr(row, cls.lookup_field)}/"
            yield detail, lambda detail=detail: client.get(detail)


def _admin_pages(organization, user):
    client = session_client(user)
    for model, _ in tenant_admins():
        if not model._meta.managed:
            continue
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        yield base, lambda base=base: client.get(base)
        with acting_as(user, organization):
            row = access.visible(user, Action.READ, model._default_manager.all()).first()
        if row is not None:
            change = f"{base}{row.pk}/change/"
            yield change, lambda change=change: client.get(change)


# The one statement a session request runs across organizations by design: the signed-in
# user's own memberships, for the single sign-on policy of each organization the user
# belongs to (users are global; a multi-shard read, ADR 0035).
USERS_OWN_MEMBERSHIPS = re.compile(
    r'^SELECT "accounts_membership"\."organization_id" AS "organization_id" '
    r'FROM "accounts_membership" WHERE \("accounts_membership"\."deleted_at" IS NULL '
    r'AND "accounts_membership"\."user_id" = \S+ AND "accounts_membership"\."is_active"\)'
)


def _unrouted(pages) -> list[str]:
    tables = pushdown.tenant_tables()
    found = []
    for url, get in pages:
        with CaptureQueriesContext(connection) as captured:
            response = get()
        assert response.status_code == 200, url
        for query in captured.captured_queries:
            if USERS_OWN_MEMBERSHIPS.match(query["sql"]):
                continue
            missing = pushdown.unrouted(query["sql"], tables)
            if missing:
                found.append(f"{url}: {', '.join(missing)} in {query['sql']}")
    return found


def test_api_lists_and_rows_route_to_one_organization():
    organization = populate_every_tenant_table("Routed")
    found = _unrouted(_pages(organization, factories.org_admin(organization)))
    assert found == [], "\n".join(found)


def test_admin_lists_and_rows_route_to_one_organization():
    organization = populate_every_tenant_table("Routed")
    found = _unrouted(_admin_pages(organization, factories.org_admin(organization)))
    assert found == [], "\n".join(found)
