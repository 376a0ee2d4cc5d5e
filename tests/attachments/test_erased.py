"""No file is added to an erased lead or to any record of it (its company, opportunity,
proposal or contract): the API answers 409 `erased`, the admin says so, and nothing is
stored or recorded (`compliance.erased`)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from attachments.models import RECORD_RESOURCES, Attachment
from compliance import services as compliance_services
from smartweb.tenancy.context import tenant_context
from tests.attachments import factories, samples
from tests.attachments.conftest import stored_files
from tests.factories import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def erased_records(org_a, rep_a):
    """Every kind of record of one lead, whose person is then erased."""
    records = factories.records(org_a, rep_a)
    with tenant_context(org_a):
        compliance_services.erase_subject(lead=records["lead"], acting_user=None)
    return records


def _nothing_written(organization, media) -> None:
    with tenant_context(organization):
        assert not Attachment.all_objects.exists()
    assert stored_files(media) == []


@pytest.mark.parametrize("field", list(RECORD_RESOURCES))
def test_the_api_refuses_a_file_for_an_erased_leads_record(
    field, org_a, rep_a, erased_records, media
):
    record = erased_records[field]
    response = api_client(rep_a, org_a).post(
        "/api/v1/attachments/",
        {field: str(record.pk), "file": samples.upload("quote.pdf", samples.PDF)},
        format="multipart",
    )
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "erased"
    _nothing_written(org_a, media)


@pytest.mark.parametrize("field", list(RECORD_RESOURCES))
def test_the_admin_refuses_a_file_for_an_erased_leads_record(
    field, client, org_a, rep_a, erased_records, media
):
    record = erased_records[field]
    meta = record._meta
    client.force_login(rep_a)
    response = client.post(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_attach", args=[record.pk]),
        {"file": samples.upload("site plan.png", samples.PNG)},
        follow=True,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "was erased" in body and "attached." not in body
    _nothing_written(org_a, media)


def test_another_leads_records_still_take_files(org_a, rep_a, erased_records, media):
    """Only the erased lead's records are refused: its neighbour's are not."""
    other = factories.records(org_a, rep_a)
    for field in RECORD_RESOURCES:
        factories.attach(org_a, other[field])
    assert len(stored_files(media)) == len(RECORD_RESOURCES)
