"""Nested summaries that lists read as JSON pass it through, and only when that JSON is
what the serializer itself would give."""

from __future__ import annotations

import pytest

from leads.models import Company
from smartweb.api.serializers import ListedSummarySerializer


class CompanyWithDates(ListedSummarySerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "customer_since"]


class CompanyName(ListedSummarySerializer):
    class Meta:
        model = Company
        fields = ["id", "name"]


def test_json_of_the_listed_fields_is_returned_as_it_is():
    listed = {"id": "4a3c1a4e-3f0a-4b8e-9a57-2f1e0e5b7c10", "name": "Drip Drop"}
    assert CompanyName().to_representation(listed) is listed


def test_a_summary_with_a_date_refuses_to_pass_json_through():
    listed = {"id": "4a3c1a4e-3f0a-4b8e-9a57-2f1e0e5b7c10", "name": "X", "customer_since": "x"}
    with pytest.raises(TypeError, match="customer_since"):
        CompanyWithDates().to_representation(listed)


def test_a_model_instance_is_serialized_as_usual():
    company = Company(name="Drip Drop")
    assert CompanyName().to_representation(company) == {"id": str(company.pk), "name": "Drip Drop"}
