"""`GET /api/v1/<resource>/{id}/history/` for every routed resource whose model keeps
history, found from the routers (a new resource is covered without being listed here):
the record's changes for whoever may read it, 404 for another organization, 403 without
read permission."""

import pytest

from accounts.api.urls import router as accounts_router
from accounts.models import Role
from compliance import services as compliance_services
from compliance.choices import RequestKind
from crm.api.urls import router as crm_router
from leads import lead_forms
from leads.api.urls import router as leads_router
from smartweb.api.history import has_history
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.compliance.conftest import build_person

pytestmark = pytest.mark.django_db

ROUTES = [
    (prefix, viewset)
    for router in (accounts_router, leads_router, crm_router)
    for prefix, viewset, _ in router.registry
    if viewset.queryset is not None and has_history(viewset.queryset.model)
]


def _has_history_action(viewset) -> bool:
    return "history" in {extra.__name__ for extra in viewset.get_extra_actions()}


def test_every_resource_with_history_serves_it_and_no_other_does():
    assert len(ROUTES) >= 15
    assert all(_has_history_action(viewset) for _, viewset in ROUTES)
    with_history = {viewset for _, viewset in ROUTES}
    without = [
        viewset
        for router in (accounts_router, leads_router, crm_router)
        for _, viewset, _ in router.registry
        if viewset not in with_history
    ]
    assert not any(_has_history_action(viewset) for viewset in without)


@pytest.fixture
def scene(org_a, org_b, team_a):
    """One row of every kind in organization A."""
    build_person(org_a, first="Hester", last="Pumphrey", phone="07700900456")
    with tenant_context(org_a):
        Role.objects.create(name="Nothing", slug="nothing")
        lead_forms.lead_form_create(acting_user=None, data={"name": "Website enquiries"})
    return factories.make_member(org_a, "nothing")


def _row(viewset, organization):
    with tenant_context(organization):
        row = viewset.queryset.model._default_manager.order_by("created_at").first()
    assert row is not None, f"no {viewset.queryset.model.__name__} row to read"
    return row


@pytest.mark.parametrize(("prefix", "viewset"), ROUTES, ids=[prefix for prefix, _ in ROUTES])
def test_history_of_each_resource(prefix, viewset, scene, org_a, org_b, admin_a, admin_b):
    row = _row(viewset, org_a)
    url = f"/api/v1/{prefix}/{getattr(row, viewset.lookup_field)}/history/"

    response = factories.api_client(admin_a, org_a).get(url)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] >= 1
    oldest = body["results"][-1]
    assert oldest["type"] == "created"
    assert set(oldest) == {
        "id",
        "at",
        "type",
        "user",
        "ip_address",
        "user_agent",
        "request_id",
        "changes",
    }
    # Another organization's admin learns nothing, not even that the row exists.
    other = factories.api_client(admin_b, org_b).get(url)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    # A member whose role does not let them read the resource is refused.
    refused = factories.api_client(scene, org_a).get(url)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"


def test_the_schema_documents_each_history_as_a_page_of_entries(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    for prefix, _ in ROUTES:
        operation = schema["paths"][f"/api/v1/{prefix}/{{id}}/history/"]["get"]
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer == {"$ref": "#/components/schemas/PaginatedHistoryEntryList"}, prefix
        assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}, prefix
    components = schema["components"]["schemas"]
    entry = components["HistoryEntry"]
    assert entry["properties"]["type"] == {"$ref": "#/components/schemas/HistoryEntryTypeEnum"}
    assert components["HistoryEntryTypeEnum"]["enum"] == ["created", "changed", "deleted"]
    assert entry["properties"]["changes"]["additionalProperties"] == {
        "$ref": "#/components/schemas/FieldChange"
    }


def test_history_of_a_subject_request(org_a, org_b, admin_a, admin_b, rep_a):
    """A compliance request is a plain view, not a viewset: the same history."""
    person = build_person(org_a, first="Hester", last="Pumphrey", phone="07700900456")
    with tenant_context(org_a):
        opened = compliance_services.subject_request_open(
            kind=RequestKind.EXPORT, lead=person.lead, acting_user=None
        )
    url = f"/api/v1/compliance/requests/{opened.pk}/history/"

    response = factories.api_client(admin_a, org_a).get(url)

    assert response.status_code == 200, response.content
    assert [e["type"] for e in response.json()["results"]] == ["created"]
    assert factories.api_client(admin_b, org_b).get(url).status_code == 404
    assert factories.api_client(rep_a, org_a).get(url).status_code == 403
