"""Saved views through the API: one's own and the team's shared views, private ones kept
private, another organization's unseen, `?view=` on the lists, and bad queries refused
with nothing written."""

import pytest

from crm.choices import TaskStatus
from crm.services import task_create
from leads.choices import LeadStatus
from savedviews.json_schemas import MAX_PARAMETERS
from savedviews.models import SavedView
from smartweb.api.serializers import MAX_ITEM_ERRORS
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.factories import api_client
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

NEW_LEADS = {"status": ["new"], "ordering": ["-created_at"]}


@pytest.fixture
def teammate_a(org_a, team_a):
    """A second rep in rep_a's team."""
    return factories.make_member(org_a, "sales_rep", team=team_a)


def _create(client, **body):
    return client.post(
        "/api/v1/saved-views/", {"resource": "leads", "query": NEW_LEADS, **body}, format="json"
    )


def _names(response):
    assert response.status_code == 200, response.content
    return sorted(view["name"] for view in response.json()["results"])


def _count(organization):
    with tenant_context(organization):
        return SavedView.all_objects.count()


def test_a_rep_saves_views_and_their_team_sees_only_the_shared_ones(
    org_a, rep_a, teammate_a, rep_a2
):
    owner = api_client(rep_a, org_a)
    shared = _create(owner, name="New leads", shared=True)
    assert shared.status_code == 201, shared.content
    assert shared.json()["query"] == {"ordering": ["-created_at"], "status": ["new"]}
    assert shared.json()["owner_email"] == rep_a.email
    assert _create(owner, name="Mine only").status_code == 201

    assert _names(owner.get("/api/v1/saved-views/")) == ["Mine only", "New leads"]
    assert _names(api_client(teammate_a, org_a).get("/api/v1/saved-views/")) == ["New leads"]
    # Outside the owner's team, a rep sees neither.
    assert _names(api_client(rep_a2, org_a).get("/api/v1/saved-views/")) == []


def test_a_private_view_is_404_to_a_teammate_and_an_admin(org_a, rep_a, teammate_a, admin_a):
    private = _create(api_client(rep_a, org_a), name="Mine only").json()
    for user in (teammate_a, admin_a):
        client = api_client(user, org_a)
        assert client.get(f"/api/v1/saved-views/{private['id']}/").status_code == 404
        assert client.delete(f"/api/v1/saved-views/{private['id']}/").status_code == 404


def test_only_the_owner_or_an_admin_changes_a_shared_view(org_a, rep_a, teammate_a, admin_a):
    view = _create(api_client(rep_a, org_a), name="New leads", shared=True).json()
    url = f"/api/v1/saved-views/{view['id']}/"
    teammate = api_client(teammate_a, org_a)
    assert teammate.patch(url, {"name": "Mine now"}, format="json").status_code == 403
    assert teammate.delete(url).status_code == 403
    renamed = api_client(admin_a, org_a).patch(url, {"name": "Fresh leads"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Fresh leads"
    assert api_client(rep_a, org_a).delete(url).status_code == 204
    assert _names(teammate.get("/api/v1/saved-views/")) == []


def test_another_organization_sees_nothing(org_a, rep_a, org_b, admin_b):
    view = _create(api_client(rep_a, org_a), name="New leads", shared=True).json()
    outsider = api_client(admin_b, org_b)
    assert _names(outsider.get("/api/v1/saved-views/")) == []
    assert outsider.get(f"/api/v1/saved-views/{view['id']}/").status_code == 404
    assert (
        outsider.patch(
            f"/api/v1/saved-views/{view['id']}/", {"name": "x"}, format="json"
        ).status_code
        == 404
    )
    # Nor can it apply the view to its own list.
    listed = outsider.get(f"/api/v1/leads/?view={view['id']}")
    assert listed.status_code == 400
    assert "view" in listed.json()["error"]["details"]


def test_view_applies_the_saved_filters_and_explicit_parameters_win(org_a, rep_a, teammate_a):
    new = make_lead(org_a, assigned_to=rep_a, contact_name="Nora New")
    contacted = make_lead(org_a, assigned_to=rep_a, contact_name="Carl Contacted")
    with tenant_context(org_a):
        from leads import services

        services.lead_change_status(
            lead=contacted, status=LeadStatus.CONTACTED, acting_user=None, reason="called"
        )
    view = _create(api_client(rep_a, org_a), name="New leads", shared=True).json()
    # The teammate opens the shared view: the filters apply to what they may read.
    teammate = api_client(teammate_a, org_a)
    client = api_client(rep_a, org_a)
    ids = [row["id"] for row in client.get(f"/api/v1/leads/?view={view['id']}").json()["results"]]
    assert ids == [str(new.pk)]
    overridden = client.get(f"/api/v1/leads/?view={view['id']}&status=contacted").json()
    assert [row["id"] for row in overridden["results"]] == [str(contacted.pk)]
    assert teammate.get(f"/api/v1/leads/?view={view['id']}").status_code == 200


def test_view_of_tasks_and_opportunities(org_a, rep_a):
    with tenant_context(org_a):
        done = task_create(acting_user=None, title="Sent", assigned_to=rep_a)
        open_task = task_create(acting_user=None, title="Call", assigned_to=rep_a)
        from crm.services import task_complete

        task_complete(task=done, acting_user=None)
    client = api_client(rep_a, org_a)
    view = _create(client, resource="tasks", name="Open", query={"status": [TaskStatus.OPEN]})
    assert view.status_code == 201, view.content
    rows = client.get(f"/api/v1/tasks/?view={view.json()['id']}").json()["results"]
    assert [row["id"] for row in rows] == [str(open_task.pk)]
    # A view of tasks is not one of the leads list.
    assert client.get(f"/api/v1/leads/?view={view.json()['id']}").status_code == 400
    deals = _create(client, resource="opportunities", name="Big", query={"value_min": ["5000"]})
    assert deals.status_code == 201, deals.content
    assert client.get(f"/api/v1/opportunities/?view={deals.json()['id']}").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"is_superuser": ["true"]},  # not a filter of the list
        {"status": ["bogus"]},  # not a value the filter takes
        {"ordering": ["contact_email"]},  # not an ordering of the list
        {"score_min": ["1", "2"]},  # one value only
        {"search": ["roof", "solar"]},  # one search: the list applied the last
        {"search": ["roof\x00er"]},  # NUL
        {"search": ["x" * 201]},  # too long
        {f"p{n}": ["x"] for n in range(21)},  # too many parameters
        {"status": "new"},  # values are lists
    ],
)
def test_a_bad_query_is_refused_and_nothing_is_written(org_a, rep_a, query):
    response = _create(api_client(rep_a, org_a), name="Bad", query=query)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert _count(org_a) == 0


def test_several_orderings_are_refused_saying_how_to_order_by_several_fields(org_a, rep_a):
    """The list applied the last `ordering` alone, as the API takes a parameter once (ADR
    0055): several are refused at `query`, in words, on a new view and on a change, and
    nothing is written. Several fields in one ordering are taken and applied."""
    client = api_client(rep_a, org_a)
    several = {"ordering": ["company__name", "-created_at"]}
    made = _create(client, name="Sorted", query=several)
    assert made.status_code == 400, made.content
    assert made.json()["error"]["details"] == {
        "query": ["ordering: takes one value: name several fields in it, separated by commas."]
    }
    assert _count(org_a) == 0

    view = _create(client, name="Sorted", query={"ordering": ["company__name,-created_at"]})
    assert view.status_code == 201, view.content
    url = f"/api/v1/saved-views/{view.json()['id']}/"
    changed = client.patch(url, {"query": several}, format="json")
    assert changed.status_code == 400, changed.content
    assert list(changed.json()["error"]["details"]) == ["query"]
    assert client.get(url).json()["query"] == {"ordering": ["company__name,-created_at"]}

    first = make_lead(org_a, assigned_to=rep_a, company={"name": "Alpha"})
    older, newer = (make_lead(org_a, assigned_to=rep_a, company={"name": "Beta"}) for _ in "ab")
    listed = client.get(f"/api/v1/leads/?view={view.json()['id']}").json()["results"]
    assert [row["id"] for row in listed] == [str(first.pk), str(newer.pk), str(older.pk)]


def test_a_query_past_its_bound_is_refused_for_its_size_alone(org_a, rep_a):
    query = {f"p{n}": "not a list" for n in range(10_000)}
    response = _create(api_client(rep_a, org_a), name="Huge", query=query)
    assert response.status_code == 400, response.content[:500]
    assert response.json()["error"]["details"] == {
        "query": [f"Ensure this field has no more than {MAX_PARAMETERS} keys."]
    }
    assert _count(org_a) == 0


def test_the_schema_states_the_bound_of_a_querys_parameters(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    query = schema["components"]["schemas"]["SavedViewWriteRequest"]["properties"]["query"]
    assert query["maxProperties"] == MAX_PARAMETERS


def test_a_query_of_bad_values_names_the_first_few_and_counts_the_rest(org_a, rep_a):
    query = {f"p{n}": "not a list" for n in range(MAX_PARAMETERS)}
    response = _create(api_client(rep_a, org_a), name="Bad", query=query)
    assert response.status_code == 400, response.content[:500]
    refused = response.json()["error"]["details"]["query"]
    assert list(refused) == [*[f"p{n}" for n in range(MAX_ITEM_ERRORS)], "more"]
    assert refused["more"] == [f"{MAX_PARAMETERS - MAX_ITEM_ERRORS} more items were refused."]
    assert _count(org_a) == 0


def test_names_are_unique_per_owner_and_list(org_a, rep_a, teammate_a):
    client = api_client(rep_a, org_a)
    assert _create(client, name="New leads").status_code == 201
    again = _create(client, name="new leads")
    assert again.status_code == 400 and "name" in again.json()["error"]["details"]
    assert _create(client, name="New leads", resource="tasks", query={}).status_code == 201
    assert _create(api_client(teammate_a, org_a), name="New leads").status_code == 201


def test_read_only_may_not_save_a_view(org_a, readonly_a):
    assert _create(api_client(readonly_a, org_a), name="x").status_code == 403
    assert _count(org_a) == 0


def test_a_view_of_a_list_one_cannot_read_is_refused(org_a, rep_a):
    """A custom role that reads no tasks may not save a view of them."""
    from accounts import services as account_services
    from accounts.models import Membership

    with tenant_context(org_a):
        role = account_services.role_create(
            name="Views only",
            slug="views-only",
            grants={("saved_views", "create"): "own", ("saved_views", "read"): "own"},
        )
        Membership.objects.filter(user=rep_a).update(role=role)
    response = _create(api_client(rep_a, org_a), name="Tasks", resource="tasks", query={})
    assert response.status_code == 400 and "resource" in response.json()["error"]["details"]


def test_restoring_a_view_whose_name_was_taken_again_is_a_conflict(org_a, rep_a, admin_a):
    owner = api_client(rep_a, org_a)
    first = _create(owner, name="Hot", shared=True).json()
    assert owner.delete(f"/api/v1/saved-views/{first['id']}/").status_code == 204
    assert _create(owner, name="Hot", shared=True).status_code == 201

    restored = api_client(admin_a, org_a).post(f"/api/v1/saved-views/{first['id']}/restore/")
    assert restored.status_code == 409, restored.content
    assert restored.json()["error"]["code"] == "conflict"
    assert _count(org_a) == 2
    with tenant_context(org_a):
        assert SavedView.all_objects.get(pk=first["id"]).deleted_at is not None
