"""Every admin page reads what a user can put in its address without a server error, and
every History page opens: the filters of each list and its date hierarchy given values
that cannot be read, each add page prefilled with malformed ids, the history of a row of
every model. A past version is shown, and saved back only where reverting is offered.

Generic: every tenant model admin, on an organization with a row in every table, as an
organization admin and as a sales rep."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from simple_history.admin import SimpleHistoryAdmin

from leads.models import Tag
from smartweb import access
from smartweb.rbac import Action
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.factories import acting_as, session_client
from tests.leads.factories import TagFactory
from tests.security.populate import populate_every_tenant_table
from tests.security.routes import tenant_admins

pytestmark = pytest.mark.django_db

# A value no id, number, date or choice reads: letters, and a number past any integer.
UNREADABLE = ("zzz", "99999999999999999999")
# Parameters of a list that are not filters: search, order, page, the error flag, facets.
NOT_FILTERS = {"q", "o", "p", "e", "_facets", "all"}
FILTER_LINK = re.compile(r'href="(\?[^"]*)"')


def _filter_parameters(content: bytes) -> set[str]:
    """The parameters of the filter links a list page offers."""
    names = set()
    for link in FILTER_LINK.findall(content.decode()):
        names |= {name for name, _ in parse_qsl(urlsplit(unescape(link)).query)}
    return names - NOT_FILTERS


def _unreadable_lists(client, base: str, model_admin):
    listed = client.get(base)
    if listed.status_code != 200:
        return
    for name in sorted(_filter_parameters(listed.content)):
        for value in UNREADABLE:
            yield f"{base}?{name}={value}"
    if model_admin.date_hierarchy:
        field = model_admin.date_hierarchy
        yield f"{base}?{field}__year={UNREADABLE[1]}"
        yield f"{base}?{field}__year=9999"
        yield f"{base}?{field}__year=2026&{field}__month=13"
        yield f"{base}?{field}__year=2026&{field}__month=2&{field}__day=30"


def _prefilled_add_pages(base: str, model):
    for field in model._meta.get_fields():
        if field.is_relation and (field.concrete or field.many_to_many):
            yield f"{base}add/?{field.name}={UNREADABLE[0]}"


@pytest.mark.parametrize("role", ["org_admin", "sales_rep"])
def test_no_admin_page_fails_on_what_its_address_carries(role):
    organization = populate_every_tenant_table("Alpha")
    user = factories.make_member(organization, role)
    client = session_client(user)
    opened, failed = 0, []
    for model, model_admin in tenant_admins():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls = [*_unreadable_lists(client, base, model_admin), *_prefilled_add_pages(base, model)]
        for url in urls:
            status = client.get(url).status_code
            opened += 1
            if status >= 500:
                failed.append(f"{url}: {status}")
    assert not failed, "\n".join(failed)
    assert opened > 100, "too few pages: the filters were not found"


@pytest.mark.parametrize("role", ["org_admin", "sales_rep"])
def test_the_history_page_of_a_row_of_every_model_opens(role):
    organization = populate_every_tenant_table("Alpha")
    user = factories.make_member(organization, role)
    client = session_client(user)
    opened, failed = 0, []
    for model, model_admin in tenant_admins():
        if not model._meta.managed:
            continue
        with acting_as(user, organization):
            row = access.visible(user, Action.READ, model._default_manager.all()).first()
        if row is None:
            continue
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{row.pk}/history/"
        status = client.get(url).status_code
        opened += 1
        malformed = [url.replace(str(row.pk), "zzz")]
        if isinstance(model_admin, SimpleHistoryAdmin):
            malformed.append(f"{url}zzz/")  # a version's page
        for page in malformed:
            if client.get(page).status_code != 404:
                failed.append(f"{page}: not a 404")
        # A rep may be refused a row the admin keeps from them (another's token), never
        # given a server error.
        if status not in ((200, 302) if role == "org_admin" else (200, 302, 403, 404)):
            failed.append(f"{url}: {status}")
    assert not failed, "\n".join(failed)
    assert opened > (20 if role == "org_admin" else 5)


def test_a_past_version_is_not_saved_back_where_reverting_is_not_offered(
    org_a, admin_a, readonly_a
):
    """Leads' admins show their history without a revert button (their saves go through
    the services); a form posted to a version's page anyway changes nothing."""
    with tenant_context(org_a):
        tag = TagFactory(organization=org_a, name="Hot")
        tag.name = "Warm"
        tag.save()
        first = tag.history.order_by("history_date").first()
    url = f"/admin/leads/tag/{tag.pk}/history/{first.history_id}/"
    for user in (admin_a, readonly_a):
        client = session_client(user)
        assert client.get(url).status_code == 200
        assert client.post(url, {"name": "Cold", "color": "#000000"}).status_code == 403
    with tenant_context(org_a):
        assert Tag.objects.get(pk=tag.pk).name == "Warm"
