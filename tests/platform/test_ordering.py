"""A list is ordered by a field it orders by, or the request is refused at `ordering`
naming those fields (DRF dropped any other and listed in the default order, which the
client took for the order it asked for). `-` before a field orders it descending, several
are separated by commas; the schema states the same."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from crm.models import Opportunity, Task
from leads.models import Company, Lead
from smartweb.api.filters import tie_broken
from smartweb.tenancy.context import tenant_context
from tests.crm import factories as crm
from tests.factories import api_client
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


def _scored(organization, name: str, score: int) -> Lead:
    lead = make_lead(organization, company={"name": name})
    with tenant_context(organization):
        Lead.objects.filter(pk=lead.pk).update(lead_score=score)
    return lead


def test_the_list_is_ordered_only_by_what_it_orders_by(org_a, admin_a):
    low, high = _scored(org_a, "Low", 10), _scored(org_a, "High", 90)
    client = api_client(admin_a, org_a)

    def ids(ordering: str) -> list[str]:
        response = client.get("/api/v1/leads/", {"ordering": ordering})
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("-lead_score,created_at") == [str(high.pk), str(low.pk)]
    assert ids("lead_score") == [str(low.pk), str(high.pk)]
    assert len(ids("")) == 2  # empty: the default order
    for ordering, refused in [
        ("nonexistent", "“nonexistent”"),
        ("lead_score,-contact_email", "“-contact_email”"),
        ("--lead_score", "“--lead_score”"),
        ("lead_score,", "“”"),
    ]:
        response = client.get("/api/v1/leads/", {"ordering": ordering})
        assert response.status_code == 400, ordering
        [message] = response.json()["error"]["details"]["ordering"]
        assert message.startswith(f"The list is not ordered by {refused}. It is ordered by ")
        assert "lead_score, created_at" in message


def test_the_schema_states_the_orderings_a_list_takes(raw_schema):
    parameters = raw_schema["paths"]["/api/v1/tasks/"]["get"]["parameters"]
    [ordering] = [p for p in parameters if p["name"] == "ordering"]
    fields = "due_at|priority|created_at|status|updated_at"
    assert ordering["schema"]["pattern"] == f"^(-?({fields})(,-?({fields}))*)?$"


@pytest.mark.parametrize(
    "asked, default, ordered",
    [
        # the default order after the fields asked, without those fields; it ends in the key
        (
            ["status"],
            ["-lead_score", "-created_at", "id"],
            ["status", "-lead_score", "-created_at", "id"],
        ),
        (["created_at"], ["-created_at"], ["created_at", "pk"]),
        (["-updated_at"], ["-created_at"], ["-updated_at", "-created_at", "-pk"]),
        (["-name"], ["name", "id"], ["-name", "id"]),
        (["due_at"], [], ["due_at", "pk"]),
    ],
)
def test_an_order_asked_for_is_made_total(asked, default, ordered):
    assert tie_broken(asked, default) == ordered


def test_rows_equal_in_the_field_asked_for_page_each_once_in_one_order(org_a, admin_a):
    """Equal in status, score and creation time: by id, each on one page only."""
    leads = [_scored(org_a, f"Tied {n}", 50) for n in range(7)]
    with tenant_context(org_a):
        Lead.objects.update(created_at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC))
    client = api_client(admin_a, org_a)
    listed = []
    for page in (1, 2, 3, 4):
        response = client.get(
            "/api/v1/leads/", {"ordering": "status", "page_size": 2, "page": page}
        )
        assert response.status_code == 200, response.content
        listed += [row["id"] for row in response.json()["results"]]
    assert listed == sorted((str(lead.pk) for lead in leads), key=uuid.UUID)


def _rows(organization, resource: str) -> tuple:
    """Two rows of the list's model."""
    if resource == "leads":
        return make_lead(organization), make_lead(organization)
    if resource == "companies":
        return make_lead(organization).company, make_lead(organization).company
    if resource == "opportunities":
        return crm.opportunity(organization), crm.opportunity(organization)
    return crm.task(organization, title="Call back"), crm.task(organization, title="Quote")


MODELS = {"leads": Lead, "companies": Company, "opportunities": Opportunity, "tasks": Task}


@pytest.mark.parametrize("resource", list(MODELS))
def test_a_list_is_ordered_and_filtered_by_when_its_rows_last_changed(resource, org_a, admin_a):
    """A sync's "what changed since": `updated_after` from a time on, `updated_before`
    until it, and either way by `updated_at`."""
    old, new = _rows(org_a, resource)
    with tenant_context(org_a):
        for row, year in ((old, 2025), (new, 2026)):
            MODELS[resource].objects.filter(pk=row.pk).update(
                updated_at=dt.datetime(year, 3, 1, tzinfo=dt.UTC)
            )
    client = api_client(admin_a, org_a)

    def ids(**query) -> list[str]:
        response = client.get(f"/api/v1/{resource}/", query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(updated_after="2026-03-01T00:00:00Z") == [str(new.pk)]
    assert ids(updated_before="2026-03-01T00:00:00Z") == [str(old.pk)]
    assert ids(ordering="updated_at") == [str(old.pk), str(new.pk)]
    assert ids(ordering="-updated_at") == [str(new.pk), str(old.pk)]
