"""CRM rows under concurrency: a transition checked on the locked row, and versions."""

import pytest

from crm import services
from crm.exceptions import InvalidTransition
from crm.models import Task
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def task_a(org_a, admin_a):
    with tenant_context(org_a):
        return services.task_create(acting_user=None, title="Call back", assigned_to=admin_a)


def test_a_task_completed_from_a_stale_read_is_refused(org_a, task_a):
    """Two completions of one task read while it was open: the second is refused, as
    its status is checked on the locked row, not on the copy it was given."""
    with tenant_context(org_a):
        stale = Task.objects.get(pk=task_a.pk)
        services.task_complete(task=task_a, acting_user=None)
        with pytest.raises(InvalidTransition):
            services.task_complete(task=stale, acting_user=None)
        assert task_a.history.filter(status="done").count() == 1


def test_a_task_answers_its_version_and_refuses_a_stale_change(org_a, admin_a, task_a):
    client = api_client(admin_a, org_a)
    url = f"/api/v1/tasks/{task_a.pk}/"
    etag = client.get(url).headers["ETag"]
    completed = client.post(f"{url}complete/")
    assert completed.status_code == 200 and completed.headers["ETag"] != etag
    refused = client.patch(url, {"title": "Call again"}, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 412
    assert refused.json()["error"]["details"]["current"]["status"] == "done"
    with tenant_context(org_a):
        assert Task.objects.get(pk=task_a.pk).title == "Call back"


def test_a_workflow_step_checks_if_match(org_a, admin_a, task_a, opp_a):
    client = api_client(admin_a, org_a)
    task = f"/api/v1/tasks/{task_a.pk}/"
    assert client.post(f"{task}complete/", HTTP_IF_MATCH='"1"').status_code == 412
    with tenant_context(org_a):
        assert Task.objects.get(pk=task_a.pk).status != "done"
    etag = client.get(task).headers["ETag"]
    assert client.post(f"{task}complete/", HTTP_IF_MATCH=etag).status_code == 200
    deal = f"/api/v1/opportunities/{opp_a.pk}/"
    with tenant_context(org_a):
        stage = opp_a.pipeline.stages.exclude(pk=opp_a.stage_id).filter(is_won=False).first()
    body = {"stage": str(stage.pk)}
    stale = client.get(deal).headers["ETag"]
    assert client.patch(deal, {"name": "Renamed"}, format="json").status_code == 200
    refused = client.post(f"{deal}move-stage/", body, format="json", HTTP_IF_MATCH=stale)
    assert refused.status_code == 412
    assert refused.json()["error"]["details"]["current"]["name"] == "Renamed"
    current = client.get(deal).headers["ETag"]
    moved = client.post(f"{deal}move-stage/", body, format="json", HTTP_IF_MATCH=current)
    assert moved.status_code == 200 and moved.json()["stage"] == str(stage.pk)


def test_a_proposals_lines_are_part_of_its_version(org_a, admin_a, opp_a):
    from tests.crm import factories

    proposal = factories.proposal(org_a, opp_a)
    client = api_client(admin_a, org_a)
    url = f"/api/v1/proposals/{proposal.pk}/"
    shown = client.get(url)
    etag = shown.headers["ETag"]
    line = {k: shown.json()["line_items"][0][k] for k in ("quantity", "unit_price")}
    renamed = {"line_items": [{**line, "description": "Website, renamed"}]}
    changed = client.patch(url, renamed, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200, changed.content
    assert changed.headers["ETag"] != etag
    other = {"line_items": [{**line, "description": "Other"}]}
    assert client.patch(url, other, format="json", HTTP_IF_MATCH=etag).status_code == 412
    # The same lines again: not rewritten, the version stays.
    with tenant_context(org_a):
        versions = proposal.history.count()
    same = client.patch(url, renamed, format="json", HTTP_IF_MATCH=changed.headers["ETag"])
    assert same.status_code == 200 and same.headers["ETag"] == changed.headers["ETag"]
    assert same.json()["line_items"][0]["id"] == changed.json()["line_items"][0]["id"]
    with tenant_context(org_a):
        assert proposal.history.count() == versions


def test_the_schema_declares_if_match_refusals_where_they_are_given():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path, method in [
        ("/api/v1/tasks/{id}/complete/", "post"),
        ("/api/v1/opportunities/{id}/move-stage/", "post"),
        ("/api/v1/leads/{id}/change-status/", "post"),
        ("/api/v1/leads/{id}/", "patch"),
        ("/api/v1/leads/{id}/", "delete"),
    ]:
        assert {"412", "428"} <= set(paths[path][method]["responses"]), (path, method)
    for path, method in [("/api/v1/leads/{id}/", "get"), ("/api/v1/tasks/", "post")]:
        assert not {"412", "428"} & set(paths[path][method]["responses"]), (path, method)
