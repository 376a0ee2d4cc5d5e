"""Through the API as on the admin's Send step (ADR 0031): a proposal or contract handed
over another way (`{"handed_over": true}`) is marked sent without an email, so a lead who
may not be emailed can still be given it; without it, it is emailed (and refused for such
a lead). The field is in the schema; a value that is not a boolean is a 400 at the field,
nothing written; another organization's record a 404, a read-only member a 403."""

from __future__ import annotations

import pytest

from crm.models import Contract, Proposal
from leads.models import Lead
from mailing.models import EmailMessage
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposal(org_a, rep_a):
    lead = factories.qualified_lead(org_a, assigned_to=rep_a, contact_email="dana@dripdrop.test")
    with tenant_context(org_a):
        Lead.objects.filter(pk=lead.pk).update(do_not_contact=True)
    return factories.proposal(org_a, factories.opportunity(org_a, owner=rep_a, lead=lead))


def _status(org, model, pk) -> str:
    with tenant_context(org):
        return model.objects.get(pk=pk).status


def _emails(org) -> int:
    with tenant_context(org):
        return EmailMessage.objects.count()


def test_a_proposal_and_its_contract_handed_over_are_sent_without_email(org_a, rep_a, proposal):
    client = api_client(rep_a, org_a)
    refused = client.post(f"/api/v1/proposals/{proposal.pk}/send/")
    assert refused.status_code == 400 and "do-not-contact" in str(refused.json())

    url = f"/api/v1/proposals/{proposal.pk}/send/"
    answer = client.post(url, {"handed_over": True}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "sent"

    contract = client.post(f"/api/v1/proposals/{proposal.pk}/accept/").json()["contract"]
    url = f"/api/v1/contracts/{contract['id']}/send/"
    answer = client.post(url, {"handed_over": True}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "sent"
    assert _emails(org_a) == 0


def test_a_handed_over_that_is_not_a_boolean_is_refused_at_the_field(org_a, rep_a, proposal):
    url = f"/api/v1/proposals/{proposal.pk}/send/"
    answer = api_client(rep_a, org_a).post(url, {"handed_over": "perhaps"}, format="json")
    assert answer.status_code == 400
    assert "handed_over" in str(answer.json()["error"]["details"])
    assert _status(org_a, Proposal, proposal.pk) == "draft"


def test_another_organization_gets_404_and_a_read_only_member_403(
    org_a, org_b, admin_b, readonly_a, proposal
):
    url = f"/api/v1/proposals/{proposal.pk}/send/"
    body = {"handed_over": True}
    assert api_client(admin_b, org_b).post(url, body, format="json").status_code == 404
    assert api_client(readonly_a, org_a).post(url, body, format="json").status_code == 403
    assert _status(org_a, Proposal, proposal.pk) == "draft"
    with tenant_context(org_a):
        assert not Contract.objects.exists()


def test_the_schema_declares_the_field(org_a, rep_a):
    schema = api_client(rep_a, org_a).get("/api/schema/?format=json").json()
    for path in ("/api/v1/proposals/{id}/send/", "/api/v1/contracts/{id}/send/"):
        body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        ref = body["schema"]["$ref"].rsplit("/", 1)[1]
        assert schema["components"]["schemas"][ref]["properties"]["handed_over"]["type"] == (
            "boolean"
        )
