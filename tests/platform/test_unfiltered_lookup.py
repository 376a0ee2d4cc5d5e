"""A row looked up by its id does not build the list's filter set (it would filter
nothing): no filter reaches it, one given to it is refused as a parameter it does not
take (ADR 0055)."""

from __future__ import annotations

from unittest import mock

import pytest

from smartweb.api.filters import FilterBackend
from tests.factories import api_client, make_organization, org_admin
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def spy():
    original = FilterBackend.filter_queryset
    with mock.patch.object(
        FilterBackend, "filter_queryset", autospec=True, side_effect=original
    ) as spied:
        yield spied


def test_a_row_by_id_skips_the_filters_and_refuses_one_given_to_it(spy):
    organization = make_organization()
    client = api_client(org_admin(organization), organization)
    lead = make_lead(organization)
    url = f"/api/v1/leads/{lead.pk}/"

    shown = client.get(url)
    assert shown.status_code == 200 and shown.json()["id"] == str(lead.pk)
    assert client.get(url, {"format": "json"}).status_code == 200
    edited = client.patch(url, {"notes": "Call after nine."}, format="json")
    assert edited.status_code == 200 and edited.json()["notes"] == "Call after nine."
    assert spy.call_count == 0

    refused = client.get(url, {"status": "converted"})
    assert refused.status_code == 400
    assert list(refused.json()["error"]["details"]) == ["status"]
    assert spy.call_count == 0

    listed = client.get("/api/v1/leads/")
    assert [row["id"] for row in listed.json()["results"]] == [str(lead.pk)]
    assert spy.call_count == 1
