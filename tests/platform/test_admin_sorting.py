"""A list column that looks sortable sorts: the lead list's first column by the lead's
company (kept by a saved view as the API's ordering), and no column of any list offers a
sort that changes nothing.

Generic: every tenant model admin the admin site registers."""

from __future__ import annotations

import pytest
from django.contrib.admin.templatetags.admin_list import result_headers
from django.urls import reverse

from savedviews.models import SavedView
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import admin_client
from tests.leads.factories import make_lead
from tests.security.routes import tenant_admins

pytestmark = pytest.mark.django_db

LEAD_LIST = reverse("admin:leads_lead_changelist")


def test_every_column_offered_as_sortable_sorts_by_a_field(admin_a):
    client = admin_client(admin_a)
    for model, _ in tenant_admins():
        meta = model._meta
        response = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        cl = getattr(response, "context_data", {}).get("cl")
        if response.status_code != 200 or cl is None:
            continue  # a page of its own (a dashboard), not a list
        for index, header in enumerate(result_headers(cl)):
            column = cl.list_display[index]
            if header["sortable"]:
                assert cl.get_ordering_field(column) is not None, f"{meta.label}: {column}"


def test_the_lead_column_sorts_by_company_both_ways(org_a, admin_a):
    for name in ("Zulu Roofing", "Alpha Plumbing", "Mike Electrics"):
        make_lead(org_a, company={"name": name}, contact_name="Dana")
    client = admin_client(admin_a)
    listed = {}
    for order in ("1", "-1"):  # column 0 is the checkbox
        page = client.get(f"{LEAD_LIST}?o={order}")
        listed[order] = [lead.company.name for lead in page.context_data["cl"].result_list]
    assert listed["1"] == ["Alpha Plumbing", "Mike Electrics", "Zulu Roofing"]
    assert listed["-1"] == list(reversed(listed["1"]))


def test_a_view_sorted_by_the_lead_column_keeps_its_order(org_a, admin_a):
    client = admin_client(admin_a)
    saved = client.post(
        reverse("admin:savedviews_savedview_save"),
        {"resource": "leads", "query": "o=-1", "name": "By company"},
        follow=True,
    )
    messages = [str(message) for message in saved.context["messages"]]
    assert messages == ["Saved the view “By company”."]
    with tenant_context(org_a):
        assert SavedView.objects.get(name="By company").query == {"ordering": ["-company__name"]}
