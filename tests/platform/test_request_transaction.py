"""The request's transaction spans the rendering of its response, and a streamed response
runs in the request's organization context; nothing of it outlives the request.

Outside the test transaction (transaction=True): inside one, the context would survive
the end of the request and hide exactly what these tests look for."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.test import Client
from django.urls import path

from leads.models import Company, Lead
from smartweb.tenancy import context
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]

TEMPLATE = engines["django"].from_string(
    "{% for lead in leads %}[{{ lead.company.name }}]{% endfor %}"
)


def _enter(request) -> None:
    context.activate(organization_id=request.GET["organization"])


def rendered_later(request):
    """A template response: its lazy queryset is read when Django renders it."""
    _enter(request)
    return TemplateResponse(request, TEMPLATE, {"leads": Lead.objects.order_by("pk")})


def streamed(request):
    """A streamed response: its rows are read while the server sends it."""
    _enter(request)
    rows = Lead.objects.select_related("company").order_by("pk").iterator()
    return StreamingHttpResponse(f"[{lead.company.name}]" for lead in rows)


urlpatterns = [path("rendered/", rendered_later), path("streamed/", streamed)]


@pytest.fixture
def organization():
    organization = factories.make_organization("Streaming Sites")
    with context.tenant_context(organization):
        for name in ("Alpha Roofing", "Beta Plumbing"):
            Lead.objects.create(company=Company.objects.create(name=name))
    return organization


def _leftover() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT smartweb_current_organization_id(), (SELECT count(*) FROM leads_lead)"
        )
        return cursor.fetchone()


def test_a_template_response_is_rendered_in_the_request_context(organization):
    response = Client().get("/rendered/", {"organization": str(organization.pk)})
    assert response.content.decode().count("[") == 2
    assert _leftover() == (None, 0)


def test_a_streamed_response_reads_its_rows_in_the_request_context(organization):
    response = Client().get("/streamed/", {"organization": str(organization.pk)})
    body = b"".join(response.streaming_content).decode()
    assert "[Alpha Roofing]" in body and "[Beta Plumbing]" in body
    assert _leftover() == (None, 0)
