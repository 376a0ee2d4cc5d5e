"""A row looked up by its id with no query parameters does not build the filter set (it
would filter nothing); with parameters the filters apply as before: a lead that does not
match them is not found."""

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


def test_a_row_by_id_without_parameters_skips_the_filters_and_with_them_keeps_them(spy):
    organization = make_organization()
    client = api_client(org_admin(organization), organization)
    lead = make_lead(organization)
    url = f"/api/v1/leads/{lead.pk}/"

    shown = client.get(url)
    assert shown.status_code == 200 and shown.json()["id"] == str(lead.pk)
    edited = client.patch(url, {"notes": "Call after nine."}, format="json")
    assert edited.status_code == 200 and edited.json()["notes"] == "Call after nine."
    assert spy.call_count == 0

    assert client.get(f"{url}?status=new").status_code == 200
    assert client.get(f"{url}?status=converted").status_code == 404
    assert client.get(f"{url}?status=nonsense").status_code == 400
    assert spy.call_count == 3

    listed = client.get("/api/v1/leads/")
    assert [row["id"] for row in listed.json()["results"]] == [str(lead.pk)]
    assert spy.call_count == 4
