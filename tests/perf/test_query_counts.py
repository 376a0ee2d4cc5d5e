"""Every list endpoint and admin changelist runs as many queries for 25 rows as for 5:
no query per row (N+1) in serializers, permission checks or list columns."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.api.urls import router as accounts_router
from accounts.models import User
from bench import run as bench_run
from crm.api.urls import router as crm_router
from leads.api.urls import router as leads_router

pytestmark = pytest.mark.django_db
APPS = ("accounts", "leads", "crm")
LIST_PREFIXES = sorted(
    prefix
    for router in (accounts_router, leads_router, crm_router)
    for prefix, viewset, _ in router.registry
    if hasattr(viewset, "list")
)


def _count(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response.status_code, len(captured.captured_queries)


@pytest.mark.parametrize("prefix", LIST_PREFIXES)
def test_list_endpoint_queries_do_not_grow_with_the_page(prefix, params):
    client = bench_run.api_clients(params)["admin"]
    url = f"/api/v1/{prefix}/"
    client.get(f"{url}?page_size=1")  # a new token's first use records it (one write)
    small_status, small = _count(client, f"{url}?page_size=5")
    large_status, large = _count(client, f"{url}?page_size=25")
    assert small_status == large_status == 200, prefix
    assert small == large, f"{prefix}: {small} queries for 5 rows, {large} for 25"


def _changelists():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in APPS:
            yield pytest.param(model, model_admin, id=model._meta.label)


@pytest.mark.parametrize("model, model_admin", list(_changelists()))
def test_admin_changelist_queries_do_not_grow_with_the_page(
    model, model_admin, params, monkeypatch
):
    client = Client()
    client.force_login(User.objects.get(pk=params["admin"]))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    counts = []
    for per_page in (5, 25):
        monkeypatch.setattr(model_admin, "list_per_page", per_page)
        counts.append(_count(client, url))
    (small_status, small), (large_status, large) = counts
    assert small_status == large_status, model._meta.label
    assert small_status in (200, 403), model._meta.label
    assert small == large, f"{model._meta.label}: {small} queries for 5 rows, {large} for 25"


def _with_listed_relations():
    for model, model_admin in admin.site._registry.items():
        related = model_admin.list_select_related
        if model._meta.app_label in APPS and isinstance(related, list | tuple) and related:
            yield pytest.param(model, id=model._meta.label)


@pytest.mark.parametrize("model", list(_with_listed_relations()))
def test_admin_changelist_reads_its_page_without_joins(model, params):
    """The relations a changelist shows are read by id after the page, never joined: a
    join under RLS can be planned from the related table's side (smartweb.admin)."""
    client = Client()
    client.force_login(User.objects.get(pk=params["admin"]))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = client.get(url)
    assert response.status_code == 200
    page = response.context["cl"].result_list
    assert " JOIN " not in str(page.query), str(page.query)
    related = admin.site._registry[model].list_select_related
    assert set(page._prefetch_related_lookups) >= set(related)
