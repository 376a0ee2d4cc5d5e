"""No chooser shows what the user may not see: every filter form and form of the
browsable API, every related field of the API's serializers, every admin dropdown and
autocomplete offers only the organization's live rows within the user's read scope, and
members of the organization.

Generic: the pages are every tenant viewset the URL conf routes (its list and one row,
its serializers' related fields) and every tenant model admin (its add page, one row, its
autocomplete fields); each `<option>`, field choice and autocomplete result naming a row
is checked against what the user may read. Another organization's rows and a
soft-deleted row of every chosen kind are there to be offered by mistake.
"""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.test import RequestFactory
from rest_framework import serializers
from rest_framework.request import Request

from accounts.models import Membership
from smartweb import access
from smartweb.rbac import Action
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.factories import acting_as, session_client
from tests.security.populate import populate_every_tenant_table
from tests.security.routes import resources_of, tenant_admins, tenant_list_routes

pytestmark = pytest.mark.django_db

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
OPTION = re.compile(f'<option value="({UUID})"')


@pytest.fixture
def two_organizations():
    """A and B with a row in every tenant table, and in A the trash of every soft-deletable
    kind (a row deleted)."""
    a = populate_every_tenant_table("Alpha", trash=True)
    populate_every_tenant_table("Bravo", trash=True)
    return a


def _readable(user, organization) -> set[str]:
    """Every id the user may be offered: rows they may read, and the organization's
    active members (and the organizations they belong to, for the switcher)."""
    ids: set[str] = set()
    with acting_as(user, organization):
        for model in apps.get_models():
            if getattr(model, "rbac_resource", None) and model._meta.managed:
                rows = access.visible(user, Action.READ, model._default_manager.all())
                ids |= {str(pk) for pk in rows.values_list("pk", flat=True)}
        members = Membership.objects.filter(is_active=True, user__is_active=True)
        ids |= {str(pk) for pk in members.values_list("user_id", flat=True)}
    ids.add(str(organization.pk))
    return ids


def _what(pk: str, organization) -> str:
    """What an offered id is, for the failure message."""
    with tenant_context(organization):
        for model in apps.get_models():
            uuid_keyed = model._meta.pk.get_internal_type() == "UUIDField"
            if uuid_keyed and model._meta.managed and model._base_manager.filter(pk=pk).exists():
                row = model._base_manager.get(pk=pk)
                deleted = " (deleted)" if getattr(row, "deleted_at", None) else ""
                return f"{model._meta.label} {row}{deleted}"
    return "a row of another organization"


def _offered(content: bytes) -> set[str]:
    return set(OPTION.findall(content.decode()))


def _api_pages(organization, user):
    """(url, offered ids) for each tenant viewset's list and first row, as HTML."""
    client = session_client(user, organization)
    for url, cls in tenant_list_routes():
        response = client.get(url, HTTP_ACCEPT="text/html")
        yield url, response.status_code, _offered(response.content)
        with acting_as(user, organization):
            model = cls.queryset.model
            row = access.visible(user, Action.READ, model._default_manager.all()).first()
        if row is not None:
            detail = f"{url}{getattr(row, cls.lookup_field)}/"
            response = client.get(detail, HTTP_ACCEPT="text/html")
            yield detail, response.status_code, _offered(response.content)


def _related_fields(serializer):
    """The writable related fields of a serializer and of those nested in it."""
    for name, field in serializer.fields.items():
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.ManyRelatedField):
            field = field.child_relation
        if isinstance(field, serializers.BaseSerializer):
            yield from ((f"{name}.{inner}", f) for inner, f in _related_fields(field))
        elif isinstance(field, serializers.RelatedField) and not field.read_only:
            yield name, field


def _serializer_fields(organization, user):
    """(serializer.field, ids) of every related field of the output and input serializers
    of every tenant viewset the user may write to (where they choose), as offered."""
    request = Request(RequestFactory().get("/"))
    request.user = user
    with acting_as(user, organization):
        for _, cls in tenant_list_routes():
            view = cls(request=request, format_kwarg=None, kwargs={})
            writes = [(a, r) for a in (Action.CREATE, Action.UPDATE) for r in resources_of(cls)]
            if not any(access.can(user, a, r) for a, r in writes):
                continue
            classes = {cls.serializer_class, *getattr(cls, "input_serializers", {}).values()}
            for serializer_class in sorted(filter(None, classes), key=lambda c: c.__name__):
                serializer = serializer_class(context={"request": request, "view": view})
                for name, field in _related_fields(serializer):
                    ids = {str(pk) for pk in field.get_queryset().values_list("pk", flat=True)}
                    yield f"{serializer_class.__name__}.{name}", 200, ids


def _admin_pages(organization, user):
    client = session_client(user)
    for model, model_admin in tenant_admins():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        row = None
        if model._meta.managed:
            with acting_as(user, organization):
                row = access.visible(user, Action.READ, model._default_manager.all()).first()
        for url in [f"{base}add/", *([f"{base}{row.pk}/change/"] if row else [])]:
            response = client.get(url)
            yield url, response.status_code, _offered(response.content)
        for field in model_admin.autocomplete_fields:
            url = (
                f"/admin/autocomplete/?app_label={model._meta.app_label}"
                f"&model_name={model._meta.model_name}&field_name={field}"
            )
            response = client.get(url)
            results = response.json()["results"] if response.status_code == 200 else []
            yield url, response.status_code, {str(r["id"]) for r in results}


def _trash(organization) -> set[str]:
    with tenant_context(organization):
        return {
            str(pk)
            for model in apps.get_models()
            if hasattr(model, "all_objects") and model._meta.managed
            for pk in model.all_objects.filter(deleted_at__isnull=False).values_list(
                "pk", flat=True
            )
        }


@pytest.mark.parametrize("role", ["org_admin", "sales_rep"])
@pytest.mark.parametrize(
    "surface", [_api_pages, _serializer_fields, _admin_pages], ids=["api", "serializers", "admin"]
)
def test_every_chooser_offers_only_what_the_user_may_read(two_organizations, role, surface):
    organization = two_organizations
    user = factories.make_member(organization, role)
    allowed = _readable(user, organization)
    trash = _trash(organization)
    assert trash, "the trash of A is empty: the test would not see a deleted row offered"
    wrong, offered_any = {}, set()
    for url, status, offered in surface(organization, user):
        assert status < 500, url
        offered_any |= offered
        if offered - allowed:
            wrong[url] = sorted(_what(pk, organization) for pk in offered - allowed)
    assert not wrong, "\n".join(f"{url}: {rows}" for url, rows in wrong.items())
    assert offered_any, "no chooser offered anything: the check saw no choices"
