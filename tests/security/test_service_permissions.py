"""Every service that writes checks its own permission, whoever calls it: each public
function of the services taking an `acting_user` (found by inspection, so a new one is
checked too) refuses a member whose role grants nothing."""

from __future__ import annotations

import inspect

import pytest
from django.core.exceptions import PermissionDenied

from accounts import services as account_services
from compliance import services as compliance_services
from compliance.models import SubjectRequest
from crm import services as crm_services
from crm.models import Campaign, Contract, Opportunity, Pipeline, PipelineStage, Proposal, Task
from leads import services as lead_services
from leads.models import Interaction, Lead, LeadEnrichment, Tag
from savedviews import services as saved_view_services
from savedviews.models import SavedView
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.factories import acting_as
from tests.security.conftest import committed_for_module
from tests.security.populate import populate_every_tenant_table
from webhooks import services as webhook_services
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

SERVICE_MODULES = (
    lead_services,
    crm_services,
    compliance_services,
    saved_view_services,
    webhook_services,
)
# Bulk services filter what they are given to what the user may change, and say so.
FILTERING = {"leads_rescore", "leads_change_status"}


def _write_services():
    return sorted(
        (f"{module.__name__}.{name}", function)
        for module in SERVICE_MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
        and not name.startswith("_")
        and "acting_user" in inspect.signature(function).parameters
    )


def _rows():
    """A row for each kind of argument the services take, by the argument's name."""
    lead = Lead.objects.filter(opportunities__isnull=False).first()
    first = lambda model: model._default_manager.first()  # noqa: E731
    return {
        "lead": lead,
        "primary": lead,
        "duplicates": [Lead.objects.exclude(pk=lead.pk).first()],
        "leads": [lead],
        "queryset": Lead.objects.all(),
        "company": lead.company,
        "tag": first(Tag),
        "tags": [first(Tag)],
        "interaction": first(Interaction),
        "enrichment": first(LeadEnrichment),
        "pipeline": first(Pipeline),
        "stage": first(PipelineStage),
        "opportunity": first(Opportunity),
        "proposal": first(Proposal),
        "contract": first(Contract),
        "campaign": first(Campaign),
        "task": first(Task),
        "subject_request": first(SubjectRequest),
        "view": first(SavedView),
        "endpoint": first(Endpoint),
        "url": "http://127.0.0.1:9/hooks",
        "event_types": ["lead.created"],
        "resource": "leads",
        "query": {},
        "status": "contacted",
        "assignee": None,
        "signer_name": "Dana",
        "kind": "export",
        "purpose": "contact",
        "granted": False,
        "source": "phone",
        "provider": "test",
        "data": {"name": "Changed"},
        "name": "Changed",
        "reason": "Because",
    }


@pytest.fixture(scope="module")
def nobody(django_db_setup, django_db_blocker):
    """An organization with a row in every table, and a member whose role grants nothing."""
    with committed_for_module(django_db_blocker):
        organization = populate_every_tenant_table()
        with tenant_context(organization):
            account_services.role_create(name="Nobody", slug="nobody", grants={})
        yield organization, factories.make_member(organization, "nobody")


def test_the_services_are_found():
    names = {name.rsplit(".", 1)[1] for name, _ in _write_services()}
    assert {"lead_update", "proposal_accept", "erase_subject", "webhook_secret_rotate"} <= names


@pytest.mark.parametrize(("name", "service"), _write_services(), ids=lambda v: str(v))
def test_a_write_service_refuses_a_member_without_the_permission(nobody, name, service):
    organization, user = nobody
    with acting_as(user, organization):
        rows = _rows()
        required = [
            p.name
            for p in inspect.signature(service).parameters.values()
            if p.kind == p.KEYWORD_ONLY and p.default is p.empty and p.name != "acting_user"
        ]
        arguments = {key: rows[key] for key in required}
        if name.rsplit(".", 1)[1] in FILTERING:
            result = service(acting_user=user, **arguments)
            assert (result if isinstance(result, int) else result[0]) == 0
            return
        with pytest.raises(PermissionDenied):
            service(acting_user=user, **arguments)
