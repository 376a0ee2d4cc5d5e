"""Saved views in the admin: saved from a filtered list, offered in the list's "Views"
box to the owner and their team (never a private one, never to another organization),
opened with the filters back; refusals write nothing."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from savedviews import services
from savedviews.models import SavedView
from smartweb.tenancy.context import tenant_context
from tests import factories

pytestmark = pytest.mark.django_db

LEADS = "/admin/leads/lead/"
SAVE = "/admin/savedviews/savedview/save/"


@pytest.fixture
def teammate_a(org_a, team_a):
    return factories.make_member(org_a, "sales_rep", team=team_a)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _save(client, query, name="Hot new leads", shared=True, resource="leads"):
    data = {"resource": resource, "query": query, "name": name}
    if shared:
        data["shared"] = "on"
    return client.post(SAVE, data)


def _views(organization):
    with tenant_context(organization):
        return {v.name: v for v in SavedView.all_objects.all()}


def _view(organization, owner, name, query, shared):
    with tenant_context(organization):
        return services.saved_view_create(
            acting_user=None, owner=owner, resource="leads", name=name, query=query, shared=shared
        )


def test_a_filtered_list_is_saved_and_opens_with_its_filters(org_a, rep_a):
    client = _client(rep_a)
    page = client.get(f"{LEADS}?status__exact=new&score=hot&q=roof")
    assert page.status_code == 200
    assert b'id="saved-views"' in page.content and b"Save view" in page.content

    response = _save(client, "status__exact=new&score=hot&q=roof&o=3.-2&state=active&p=2")
    assert response.status_code == 302
    view = _views(org_a)["Hot new leads"]
    assert view.owner == rep_a and view.shared
    assert view.query == {
        "ordering": ["lead_score,-status"],
        "score_max": ["100"],
        "score_min": ["70"],
        "search": ["roof"],
        "status": ["new"],
    }
    opened = parse_qs(urlsplit(response["Location"]).query)
    assert opened == {"status__exact": ["new"], "score": ["hot"], "q": ["roof"], "o": ["3.-2"]}
    assert client.get(response["Location"]).status_code == 200


def test_the_team_sees_the_shared_view_not_the_private_one(
    org_a, rep_a, teammate_a, rep_a2, org_b, admin_b
):
    _view(org_a, rep_a, "Shared new", {"status": ["new"]}, True)
    _view(org_a, rep_a, "Private new", {"status": ["new"]}, False)

    box = _client(teammate_a).get(LEADS).content.decode()
    assert "Shared new" in box and "Private new" not in box
    assert "status__exact=new" in box
    assert "Shared new" not in _client(rep_a2).get(LEADS).content.decode()
    assert "Shared new" not in _client(admin_b).get(LEADS).content.decode()
    both = _client(rep_a).get(LEADS).content.decode()
    assert "Shared new" in both and "Private new" in both


def test_the_saved_views_page_hides_private_and_foreign_views(
    org_a, rep_a, teammate_a, org_b, admin_b
):
    shared = _view(org_a, rep_a, "Shared new", {"status": ["new"]}, True)
    private = _view(org_a, rep_a, "Private new", {"status": ["new"]}, False)
    listing = _client(teammate_a).get(reverse("admin:savedviews_savedview_changelist"))
    assert listing.status_code == 200
    assert "Shared new" in listing.content.decode()
    assert "Private new" not in listing.content.decode()
    for user, view in ((teammate_a, private), (admin_b, shared), (admin_b, private)):
        url = reverse("admin:savedviews_savedview_change", args=[view.pk])
        assert _client(user).get(url).status_code == 404
    # The teammate may see the shared view but not change it.
    url = reverse("admin:savedviews_savedview_change", args=[shared.pk])
    client = _client(teammate_a)
    assert client.post(url, {"name": "Mine now", "shared": "on"}).status_code == 403
    assert _views(org_a)["Shared new"].pk == shared.pk


def test_the_owner_renames_and_unshares_a_view(org_a, rep_a):
    view = _view(org_a, rep_a, "Shared new", {"status": ["new"]}, True)
    url = reverse("admin:savedviews_savedview_change", args=[view.pk])
    page = _client(rep_a).get(url)
    assert page.status_code == 200
    version = page.context["adminform"].form.initial.get("_version", "")
    data = {"name": "Fresh leads"} | ({"_version": version} if version else {})
    assert _client(rep_a).post(url, data).status_code == 302
    saved = _views(org_a)["Fresh leads"]
    assert not saved.shared


def test_refusals_write_nothing(org_a, rep_a, readonly_a):
    client = _client(rep_a)
    response = _save(client, "status__exact=new", name="  ")
    assert response.status_code == 302
    assert _views(org_a) == {}
    page = client.get(response["Location"])
    assert "The view was not saved" in page.content.decode()
    assert _save(_client(readonly_a), "status__exact=new").status_code == 403
    assert _save(client, "status__exact=new", resource="users").status_code == 403
    assert client.get(SAVE).status_code == 405
    assert _views(org_a) == {}


def test_a_filter_the_api_lacks_is_named_not_kept(org_a, rep_a):
    client = _client(rep_a)
    response = _save(client, "due=overdue&status__exact=open", resource="tasks")
    assert response.status_code == 302
    assert _views(org_a)["Hot new leads"].query == {"status": ["open"]}
    page = client.get(response["Location"]).content.decode()
    assert "Not kept (the API has no such filter): due" in page


@pytest.mark.parametrize(
    "resource, status", [("leads", "new"), ("opportunities", "open"), ("tasks", "open")]
)
def test_a_view_of_deleted_rows_says_the_state_is_not_kept(org_a, manager_a, resource, status):
    """The API lists no deleted rows, so a view cannot keep the trash: it says so."""
    client = _client(manager_a)
    response = _save(client, f"state=deleted&status__exact={status}", resource=resource)
    assert _views(org_a)["Hot new leads"].query == {"status": [status]}
    page = client.get(response["Location"]).content.decode()
    assert "Not kept (the API has no such filter): state." in page


def test_a_view_of_active_rows_needs_no_state(org_a, manager_a):
    client = _client(manager_a)
    response = _save(client, "state=active&status__exact=new")
    assert _views(org_a)["Hot new leads"].query == {"status": ["new"]}
    assert "Not kept" not in client.get(response["Location"]).content.decode()


def test_api_filters_without_an_admin_filter_open_as_lookups(org_a, rep_a):
    view = _view(
        org_a, rep_a, "Unassigned cold", {"unassigned": ["true"], "status": ["new", "lost"]}, True
    )
    page = _client(rep_a).get(LEADS).content.decode()
    assert "assignee=none" in page and "status__in=new%2Clost" in page
    assert view.pk


def test_the_views_box_reads_as_many_queries_for_one_view_as_for_five(org_a, rep_a, teammate_a):
    client = _client(rep_a)
    _view(org_a, rep_a, "One", {"status": ["new"], "ordering": ["lead_score"]}, True)
    client.get(LEADS)
    with CaptureQueriesContext(connection) as one:
        client.get(LEADS)
    for n in range(2):
        _view(org_a, rep_a, f"Mine {n}", {"ordering": ["-lead_score"]}, False)
        _view(org_a, teammate_a, f"Theirs {n}", {"search": ["roof"]}, True)
    with CaptureQueriesContext(connection) as five:
        page = client.get(LEADS)
    assert page.content.decode().count('class="saved-view-link"') == 5
    assert len(five) == len(one)


def _replace(client, view, query, confirmed=True):
    data = {"query": query, **({"confirmed": "yes"} if confirmed else {})}
    return client.post(reverse("admin:savedviews_savedview_replace", args=[view.pk]), data)


def test_the_owner_replaces_a_view_s_filters_after_confirming(org_a, rep_a, teammate_a):
    view = _view(org_a, rep_a, "Hot new", {"status": ["new"]}, True)
    client = _client(rep_a)
    box = client.get(f"{LEADS}?status__exact=qualified").content.decode()
    replace = reverse("admin:savedviews_savedview_replace", args=[view.pk])
    assert f'action="{replace}"' in box and "Replace with this list" in box

    asked = _replace(client, view, "status__exact=qualified", confirmed=False)
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Replace the view “Hot new”?" in page
    assert "status = new" in page and "status = qualified" in page
    assert _views(org_a)["Hot new"].query == {"status": ["new"]}, "nothing before confirming"

    done = _replace(client, view, "status__exact=qualified")
    assert done.status_code == 302
    assert parse_qs(urlsplit(done["Location"]).query) == {"status__exact": ["qualified"]}
    replaced = _views(org_a)["Hot new"]
    assert (replaced.pk, replaced.query, replaced.shared) == (
        view.pk,
        {"status": ["qualified"]},
        True,
    )


def test_no_one_else_overwrites_a_view(org_a, rep_a, teammate_a, admin_a, org_b, admin_b):
    shared = _view(org_a, rep_a, "Shared new", {"status": ["new"]}, True)
    private = _view(org_a, rep_a, "Private new", {"status": ["new"]}, False)
    box = _client(teammate_a).get(LEADS).content.decode()
    assert "Shared new" in box and "Replace with this list" not in box
    assert _replace(_client(teammate_a), shared, "status__exact=lost").status_code == 403
    assert _replace(_client(admin_a), shared, "status__exact=lost").status_code == 403
    assert _replace(_client(teammate_a), private, "status__exact=lost").status_code == 404
    assert _replace(_client(admin_b), shared, "status__exact=lost").status_code == 404
    assert {name: v.query for name, v in _views(org_a).items()} == {
        "Shared new": {"status": ["new"]},
        "Private new": {"status": ["new"]},
    }
