"""A list request's filter form holds only the filters its query string gives
(smartweb.api.filters.GivenFiltersFormMixin): the same rows and the same errors as the
form of every filter, for every filter of every list endpoint; a required filter is
still required; the browsable API still offers every filter."""

from __future__ import annotations

import uuid

import django_filters
import pytest
from django.core.exceptions import EmptyResultSet
from django.http import QueryDict
from rest_framework.test import APIRequestFactory

from accounts.api.urls import router as accounts_router
from attachments.api.urls import router as attachments_router
from crm.api.urls import router as crm_router
from leads.api.urls import router as leads_router
from leads.models import Company
from mailing.api.urls import router as mailing_router
from notifications.api.urls import router as notifications_router
from savedviews.api.urls import router as savedviews_router
from smartweb.api.filters import FilterBackend, FilterSet
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client, make_organization, org_admin
from tests.leads.factories import make_lead
from webhooks.api.urls import router as webhooks_router

pytestmark = pytest.mark.django_db

ROUTERS = (
    accounts_router,
    attachments_router,
    crm_router,
    leads_router,
    mailing_router,
    notifications_router,
    savedviews_router,
    webhooks_router,
)
FILTER_SETS = sorted(
    {
        viewset.filterset_class
        for router in ROUTERS
        for _, viewset, _ in router.registry
        if getattr(viewset, "filterset_class", None)
    },
    key=lambda cls: cls.__qualname__,
)
# What a client may send a filter: nothing, text, a number, a boolean, a UUID, a date
# time, and one of each kind of wrong.
VALUES = ("", "boiler", "7", "-1.5", "true", str(uuid.uuid4()), "2026-01-01T00:00:00Z", "2026-13")


def _parameter_names(filterset_class, name: str) -> list[str]:
    """The query parameters a filter reads: its name, or its name with each suffix of a
    range's widget (`score_min`, `score_max`)."""
    widget = filterset_class.base_filters[name].field.widget
    suffixes = getattr(widget, "widgets_names", ())
    return [f"{name}{suffix}" for suffix in suffixes] or [name]


def _sql(queryset) -> str:
    try:
        return str(queryset.query)
    except EmptyResultSet:  # a search that can match nothing
        return "no rows"


def _filtered(filterset_class, query: str, request, *, given_only: bool):
    model = filterset_class._meta.model
    filterset = filterset_class(QueryDict(query), model._base_manager.all(), request=request)
    filterset.given_filters_only = given_only
    valid = filterset.is_valid()
    return valid, dict(filterset.errors), _sql(filterset.qs), set(filterset.form.fields)


@pytest.mark.parametrize("filterset_class", FILTER_SETS, ids=lambda cls: cls.__qualname__)
def test_each_filter_given_alone_filters_and_fails_as_with_every_filter(filterset_class):
    assert filterset_class.base_filters, filterset_class
    organization = make_organization()
    request = APIRequestFactory().get("/")
    request.user = org_admin(organization)
    with tenant_context(organization.pk, user=request.user):
        _compare_each_filter(filterset_class, request)


def _compare_each_filter(filterset_class, request) -> None:
    for name in filterset_class.base_filters:
        for parameter in _parameter_names(filterset_class, name):
            for value in VALUES:
                query = QueryDict(mutable=True)
                query[parameter] = value
                text = query.urlencode()
                *given, fields = _filtered(filterset_class, text, request, given_only=True)
                *every, all_fields = _filtered(filterset_class, text, request, given_only=False)
                assert given == every, (filterset_class.__qualname__, text)
                assert all_fields == set(filterset_class.base_filters)
                assert fields <= {name} or value == "", (filterset_class.__qualname__, text)


def _admin_client():
    organization = make_organization()
    return api_client(org_admin(organization), organization), organization


def test_a_lead_list_validates_only_the_filters_it_is_given():
    client, organization = _admin_client()
    lead = make_lead(organization)
    response = client.get(f"/api/v1/leads/?status={lead.status}&score_min=0")
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [str(lead.pk)]
    form = response.renderer_context["view"].filterset.form
    assert set(form.fields) == {"status", "score_min"}
    assert form.cleaned_data == {"status": [lead.status], "score_min": 0}


def test_a_wrong_value_among_filters_is_refused_with_its_message():
    client, _ = _admin_client()
    response = client.get("/api/v1/leads/?status=new&score_min=ten")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"score_min": ["Enter a whole number."]}


class RequiredCity(FilterSet):
    city = django_filters.CharFilter(required=True)

    class Meta:
        model = Company
        fields = ["country"]


class CompanyView:
    filterset_class = RequiredCity


def test_a_required_filter_left_out_is_still_refused():
    request = APIRequestFactory().get("/", {"country": "GB"})
    request.query_params = QueryDict("country=GB")
    with pytest.raises(Exception) as refused:
        FilterBackend().filter_queryset(request, Company._base_manager.all(), CompanyView())
    assert refused.value.detail == {"city": ["This field is required."]}


def test_the_browsable_form_still_offers_every_filter():
    client, _ = _admin_client()
    response = client.get("/api/v1/leads/?status=new", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("status", "assigned_to", "do_not_contact", "search", "tags"):
        assert f'name="{name}"' in page, name
