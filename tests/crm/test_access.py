"""Who sees and does what: every CRM endpoint is empty or 404 for another organization,
403 without the role's permission, and scoped by owner or assignee within one."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import RolePermission
from crm import services
from crm.models import (
    AICallWebhookSecret,
    Contract,
    Opportunity,
    PipelineStage,
    ProposalLineItem,
    Task,
)
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows_a(org_a, rep_a, opp_a):
    """One row behind every CRM endpoint, in organization A, owned by rep_a."""
    proposal = factories.proposal(org_a, opp_a)
    factories.webhook_secret(org_a)
    with tenant_context(org_a):
        services.proposal_send(proposal=proposal, acting_user=None)
        second = services.proposal_create(
            opportunity=opp_a, acting_user=None, lines=[factories.line()]
        )
        contract = services.proposal_accept(proposal=proposal, acting_user=None)
        line = ProposalLineItem.objects.filter(proposal=proposal).get()
        stage = PipelineStage.objects.get(name="Discovery")
    campaign = factories.campaign(org_a)
    call = factories.ai_call(
        org_a, for_lead=factories.lead(org_a, assigned_to=rep_a), in_campaign=campaign
    )
    task = factories.task(org_a, assigned_to=rep_a, opportunity=opp_a)
    return {
        "pipelines": opp_a.pipeline_id,
        "pipeline-stages": stage.pk,
        "opportunities": opp_a.pk,
        "proposals": second.pk,
        "proposal-line-items": line.pk,
        "contracts": contract.pk,
        "campaigns": campaign.pk,
        "ai-calls": call.pk,
        "tasks": task.pk,
    }


DETAIL_ACTIONS = [
    ("get", "pipelines", "board/"),
    ("post", "opportunities", "move-stage/"),
    ("post", "proposals", "send/"),
    ("post", "proposals", "mark-viewed/"),
    ("post", "proposals", "accept/"),
    ("post", "proposals", "reject/"),
    ("post", "contracts", "send/"),
    ("post", "contracts", "sign/"),
    ("post", "contracts", "set-status/"),
    ("post", "campaigns", "launch/"),
    ("post", "campaigns", "pause/"),
    ("post", "campaigns", "cancel/"),
    ("get", "campaigns", "stats/"),
    ("post", "tasks", "complete/"),
]
READ_ONLY = {"proposal-line-items"}
LIST_ACTIONS = ["opportunities/forecast/", "tasks/mine/", "tasks/overdue/", "tasks/due-today/"]


def test_another_organization_lists_nothing_and_gets_404_everywhere(rows_a, org_b, admin_b):
    client = api_client(admin_b, org_b)
    for endpoint, pk in rows_a.items():
        listed = client.get(f"/api/v1/{endpoint}/")
        assert listed.status_code == 200, endpoint
        ids = {row["id"] for row in listed.json()["results"]}
        assert str(pk) not in ids, endpoint
        url = f"/api/v1/{endpoint}/{pk}/"
        assert client.get(url).status_code == 404, endpoint
        writes = 405 if endpoint in READ_ONLY else 404
        assert client.patch(url, {"name": "x"}).status_code in (writes, 405), endpoint
        assert client.delete(url).status_code == writes, endpoint
        assert client.post(f"{url}restore/").status_code == 404, endpoint
    for method, endpoint, action in DETAIL_ACTIONS:
        response = getattr(client, method)(f"/api/v1/{endpoint}/{rows_a[endpoint]}/{action}")
        assert response.status_code == 404, (endpoint, action)


def test_another_organizations_lists_and_summaries_hold_none_of_ours(rows_a, org_b, admin_b):
    client = api_client(admin_b, org_b)
    forecast = client.get("/api/v1/opportunities/forecast/").json()["months"]
    assert all(row["open_count"] == 0 for row in forecast)
    for path in LIST_ACTIONS[1:]:
        assert client.get(f"/api/v1/{path}").json()["count"] == 0
    own_pipeline = client.get("/api/v1/pipelines/").json()["results"][0]
    board = client.get(f"/api/v1/pipelines/{own_pipeline['id']}/board/").json()
    assert all(column["count"] == 0 for column in board["stages"])


def test_read_only_role_reads_but_cannot_write(rows_a, org_a, readonly_a):
    client = api_client(readonly_a, org_a)
    for endpoint, pk in rows_a.items():
        assert client.get(f"/api/v1/{endpoint}/{pk}/").status_code == 200, endpoint
        assert client.delete(f"/api/v1/{endpoint}/{pk}/").status_code in (403, 405), endpoint
    for method, endpoint, action in DETAIL_ACTIONS:
        if method == "post":
            response = client.post(f"/api/v1/{endpoint}/{rows_a[endpoint]}/{action}")
            assert response.status_code == 403, (endpoint, action)
    lead = factories.qualified_lead(org_a)
    assert client.post("/api/v1/opportunities/", {"lead": str(lead.pk)}).status_code == 403
    assert client.post("/api/v1/tasks/", {"title": "x"}).status_code == 403
    assert client.post("/api/v1/campaigns/webhook-secret/").status_code == 403
    with tenant_context(org_a):
        assert Opportunity.objects.count() == 1 and Task.objects.count() == 1


def test_reps_see_their_own_opportunities_and_tasks(org_a, rep_a, rep_a2, opp_a, opp_a2):
    mine = factories.task(org_a, assigned_to=rep_a)
    theirs = factories.task(org_a, assigned_to=rep_a2)
    client = api_client(rep_a, org_a)
    listed = {o["id"] for o in client.get("/api/v1/opportunities/").json()["results"]}
    assert listed == {str(opp_a.pk)}
    assert client.get(f"/api/v1/opportunities/{opp_a2.pk}/").status_code == 404
    tasks = {t["id"] for t in client.get("/api/v1/tasks/").json()["results"]}
    assert tasks == {str(mine.pk)}
    assert client.patch(f"/api/v1/tasks/{theirs.pk}/", {"title": "x"}).status_code == 404


def test_managers_see_their_teams_work(org_a, manager_a, opp_a, opp_a2):
    client = api_client(manager_a, org_a)
    listed = {o["id"] for o in client.get("/api/v1/opportunities/").json()["results"]}
    assert listed == {str(opp_a.pk)}


def test_a_rep_cannot_hand_work_to_someone_else(org_a, rep_a, rep_a2, opp_a):
    client = api_client(rep_a, org_a)
    response = client.post("/api/v1/tasks/", {"title": "x", "assigned_to": str(rep_a2.pk)})
    assert response.status_code == 400
    response = client.patch(f"/api/v1/opportunities/{opp_a.pk}/", {"owner": str(rep_a2.pk)})
    assert response.status_code == 400
    assert client.post("/api/v1/tasks/", {"title": "mine"}).json()["assigned_to"] == str(rep_a.pk)


def test_reps_read_pipelines_but_do_not_change_them(org_a, rep_a):
    client = api_client(rep_a, org_a)
    assert client.get("/api/v1/pipelines/").json()["count"] == 1
    assert client.post("/api/v1/pipelines/", {"name": "Mine"}).status_code == 403
    assert client.post("/api/v1/campaigns/", {"name": "x", "script": "y"}).status_code == 403


def test_reps_cannot_delete_opportunities(org_a, rep_a, opp_a):
    assert api_client(rep_a, org_a).delete(f"/api/v1/opportunities/{opp_a.pk}/").status_code == 403


def test_a_rep_works_their_own_deal_to_the_end(org_a, rep_a, opp_a):
    client = api_client(rep_a, org_a)
    proposal = client.post(
        "/api/v1/proposals/",
        {
            "opportunity": str(opp_a.pk),
            "line_items": [{"description": "Site", "quantity": "1", "unit_price": "900"}],
        },
    )
    assert proposal.status_code == 201, proposal.content
    pk = proposal.json()["id"]
    client.post(f"/api/v1/proposals/{pk}/send/")
    contract = client.post(f"/api/v1/proposals/{pk}/accept/").json()["contract"]
    signed = client.post(f"/api/v1/contracts/{contract['id']}/sign/", {"signer_name": "Dana"})
    assert signed.status_code == 200, signed.content
    with tenant_context(org_a):
        assert Contract.objects.get().status == "signed"


def test_unauthenticated_requests_are_401(rows_a):
    for endpoint in rows_a:
        assert APIClient().get(f"/api/v1/{endpoint}/").status_code == 401


def test_reps_see_the_calls_and_proposals_of_their_own_live_leads_and_deals(
    org_a, rep_a, rep_a2, manager_a, opp_a, opp_a2
):
    mine = factories.ai_call(org_a, for_lead=factories.lead(org_a, assigned_to=rep_a))
    theirs = factories.ai_call(org_a, for_lead=factories.lead(org_a, assigned_to=rep_a2))
    trashed_lead = factories.lead(org_a, assigned_to=rep_a)
    in_trash = factories.ai_call(org_a, for_lead=trashed_lead)
    with tenant_context(org_a):
        trashed_lead.delete()
    my_proposal = factories.proposal(org_a, opp_a)
    their_proposal = factories.proposal(org_a, opp_a2)
    client = api_client(rep_a, org_a)
    with CaptureQueriesContext(connection) as captured:
        calls = {c["id"] for c in client.get("/api/v1/ai-calls/").json()["results"]}
    # the lead is read in a sub-select that names the organization, not joined
    listed = [q["sql"] for q in captured.captured_queries if '"crm_aicall"' in q["sql"]]
    assert listed and not any('JOIN "leads_lead"' in sql for sql in listed)
    assert calls == {str(mine.pk)}
    assert client.get(f"/api/v1/ai-calls/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/ai-calls/{in_trash.pk}/").status_code == 404
    proposals = {p["id"] for p in client.get("/api/v1/proposals/").json()["results"]}
    assert proposals == {str(my_proposal.pk)}
    assert client.get(f"/api/v1/proposals/{their_proposal.pk}/").status_code == 404
    # a manager's team scope goes through the same sub-select
    manager = api_client(manager_a, org_a)
    team = {c["id"] for c in manager.get("/api/v1/ai-calls/").json()["results"]}
    assert team == {str(mine.pk)}


# --- the AI call webhook's signing secret -------------------------------------------------


@pytest.fixture
def team_campaigns_manager(org_a, manager_a):
    """manager_a, whose role changes the campaigns of their team only."""
    with tenant_context(org_a):
        RolePermission.objects.filter(
            role__memberships__user=manager_a, resource=Resource.CAMPAIGNS, action=Action.UPDATE
        ).update(scope=Scope.TEAM)
    return manager_a


def test_the_webhook_secret_needs_campaigns_update_of_the_whole_organization(
    org_a, team_campaigns_manager
):
    """The secret signs the provider's results for every lead of the organization: a
    campaigns:update of one team does not rotate (nor so read) it, in the API or the admin."""
    secret = factories.webhook_secret(org_a)
    with tenant_context(org_a):
        before = AICallWebhookSecret.objects.values_list("secret_encrypted", "rotated_at").get()
    api = api_client(team_campaigns_manager, org_a)
    assert api.post("/api/v1/campaigns/webhook-secret/").status_code == 403
    admin = Client()
    admin.force_login(team_campaigns_manager)
    page = reverse("admin:crm_campaign_webhook_secret")
    assert admin.get(page).status_code == 403
    assert admin.post(page).status_code == 403
    campaigns = admin.get(reverse("admin:crm_campaign_changelist"))
    assert campaigns.status_code == 200 and page not in campaigns.content.decode()
    with tenant_context(org_a):
        after = AICallWebhookSecret.objects.values_list("secret_encrypted", "rotated_at").get()
    assert after == before and secret.startswith("whsec_")


def test_a_manager_with_campaigns_update_of_the_organization_rotates_it(org_a, manager_a):
    response = api_client(manager_a, org_a).post("/api/v1/campaigns/webhook-secret/")
    assert response.status_code == 200 and response.json()["secret"].startswith("whsec_")
    admin = Client()
    admin.force_login(manager_a)
    shown = admin.post(reverse("admin:crm_campaign_webhook_secret"))
    assert shown.status_code == 200 and b"whsec_" in shown.content
