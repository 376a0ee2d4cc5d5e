"""The leads API: other organizations, permissions, scopes, input, workflow, queries."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts.models import AuditLog
from leads.api.serializers import LeadListSerializer
from leads.choices import CompanySize
from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag, Tag
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client
from tests.leads.factories import InteractionFactory, LeadTagFactory, TagFactory, make_lead

pytestmark = pytest.mark.django_db

ENDPOINTS = ["companies", "leads", "interactions", "tags", "enrichments"]
LEAD_ACTIONS = [
    ("post", "qualify", {"reason": "x"}),
    ("post", "change-status", {"status": "contacted"}),
    ("post", "rescore", {}),
    ("post", "merge", {"duplicates": []}),
    ("get", "duplicates", None),
    ("get", "timeline", None),
]
NEW_LEAD = {
    "company": {
        "name": "Drip Drop Plumbing",
        "business_type": "plumber",
        "phone": "01632 960123",
        "email": "office@dripdrop.test",
        "website": "dripdrop.test",
        "online_presence": {"website_status": "none", "google_rating": 4.7},
    },
    "contact_name": "Dana",
}


@pytest.fixture
def objects_a(lead_a, interaction_a, tag_a, enrichment_a):
    return {
        "companies": lead_a.company,
        "leads": lead_a,
        "interactions": interaction_a,
        "tags": tag_a,
        "enrichments": enrichment_a,
    }


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _count(org, model, **filters) -> int:
    with tenant_context(org):
        return model.all_objects.filter(**filters).count()


# --- other organizations -------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_another_organization_gets_404_and_empty_lists(endpoint, objects_a, org_b, admin_b):
    client = api_client(admin_b, org_b)
    obj = objects_a[endpoint]
    url = f"/api/v1/{endpoint}/{obj.pk}/"
    assert _ids(client.get(f"/api/v1/{endpoint}/")) == set()
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "x", "subject": "x"}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert client.post(f"{url}restore/").status_code == 404
    assert _count(obj.organization_id, type(obj), pk=obj.pk, deleted_at__isnull=True) == 1


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_soft_deleted_rows_of_another_organization_cannot_be_restored(
    endpoint, objects_a, org_a, admin_a, org_b, admin_b
):
    obj = objects_a[endpoint]
    assert api_client(admin_a, org_a).delete(f"/api/v1/{endpoint}/{obj.pk}/").status_code == 204
    client = api_client(admin_b, org_b)
    assert client.post(f"/api/v1/{endpoint}/{obj.pk}/restore/").status_code == 404
    assert _count(org_a, type(obj), pk=obj.pk, deleted_at__isnull=False) == 1
    restored = api_client(admin_a, org_a).post(f"/api/v1/{endpoint}/{obj.pk}/restore/")
    assert restored.status_code == 200, restored.content


# 36 characters of the lookup's alphabet, so the route matches, but no UUID.
MALFORMED_ID = "0" * 35 + "-"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_id_that_is_no_uuid_is_a_404_on_every_route_of_a_row(endpoint, org_a, admin_a):
    client = api_client(admin_a, org_a)
    url = f"/api/v1/{endpoint}/{MALFORMED_ID}/"
    answers = {
        "detail": client.get(url),
        "history": client.get(f"{url}history/"),
        "restore": client.post(f"{url}restore/"),
    }
    assert {route: answer.status_code for route, answer in answers.items()} == {
        "detail": 404,
        "history": 404,
        "restore": 404,
    }
    assert answers["restore"].json() == answers["detail"].json()


@pytest.mark.parametrize("method, name, body", LEAD_ACTIONS)
def test_lead_actions_on_another_organizations_lead_are_404(
    method, name, body, lead_a, org_b, admin_b
):
    client = api_client(admin_b, org_b)
    response = getattr(client, method)(f"/api/v1/leads/{lead_a.pk}/{name}/", body, format="json")
    assert response.status_code == 404
    with tenant_context(lead_a.organization_id):
        assert Lead.objects.get(pk=lead_a.pk).status == "new"


def test_collection_actions_do_not_cross_organizations(lead_a, lead_b, org_b, admin_b):
    client = api_client(admin_b, org_b)
    report = client.get("/api/v1/leads/duplicates/").json()
    assert report == {"groups": [], "truncated": False}
    export = client.get("/api/v1/leads/export/").content.decode()
    assert "Bravo Roofing" in export and "Drip Drop" not in export


def test_merging_another_organizations_lead_is_refused(org_a, admin_a, lead_a, lead_b):
    response = api_client(admin_a, org_a).post(
        f"/api/v1/leads/{lead_a.pk}/merge/", {"duplicates": [str(lead_b.pk)]}, format="json"
    )
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["error"]["details"]["duplicates"])
    assert _count(lead_b.organization_id, Lead, pk=lead_b.pk, deleted_at__isnull=True) == 1


# --- permissions and scopes ----------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_read_only_users_read_but_cannot_write(endpoint, objects_a, org_a, readonly_a):
    client = api_client(readonly_a, org_a)
    obj = objects_a[endpoint]
    assert str(obj.pk) in _ids(client.get(f"/api/v1/{endpoint}/"))
    assert client.post(f"/api/v1/{endpoint}/", {}, format="json").status_code == 403
    url = f"/api/v1/{endpoint}/{obj.pk}/"
    assert client.patch(url, {}, format="json").status_code == 403
    assert client.delete(url).status_code == 403


def test_read_only_users_cannot_use_lead_actions(lead_a, org_a, readonly_a):
    client = api_client(readonly_a, org_a)
    for method, name, body in LEAD_ACTIONS:
        response = getattr(client, method)(f"/api/v1/leads/{lead_a.pk}/{name}/", body)
        assert response.status_code == (200 if method == "get" else 403), name


def test_a_rep_cannot_delete_even_their_own_lead(lead_a, org_a, rep_a):
    client = api_client(rep_a, org_a)
    assert client.get(f"/api/v1/leads/{lead_a.pk}/").status_code == 200
    assert client.delete(f"/api/v1/leads/{lead_a.pk}/").status_code == 403
    assert _count(org_a, Lead, pk=lead_a.pk, deleted_at__isnull=True) == 1


def test_a_rep_sees_only_their_own_leads_and_what_hangs_off_them(
    org_a, rep_a, lead_a, lead_a2, interaction_a
):
    other_interaction = InteractionFactory(organization=org_a, lead=lead_a2)
    client = api_client(rep_a, org_a)
    assert _ids(client.get("/api/v1/leads/")) == {str(lead_a.pk)}
    assert _ids(client.get("/api/v1/companies/")) == {str(lead_a.company_id)}
    assert _ids(client.get("/api/v1/interactions/")) == {str(interaction_a.pk)}
    assert client.get(f"/api/v1/leads/{lead_a2.pk}/").status_code == 404
    assert client.get(f"/api/v1/interactions/{other_interaction.pk}/").status_code == 404
    assert client.get(f"/api/v1/leads/{lead_a2.pk}/timeline/").status_code == 404


def test_a_manager_sees_their_teams_leads(org_a, manager_a, lead_a, lead_a2):
    own = make_lead(org_a, company={"name": "Manager's"}, assigned_to=manager_a)
    client = api_client(manager_a, org_a)
    assert _ids(client.get("/api/v1/leads/")) == {str(lead_a.pk), str(own.pk)}
    assert client.get(f"/api/v1/leads/{lead_a2.pk}/").status_code == 404


def test_an_admin_sees_the_whole_organization(org_a, admin_a, lead_a, lead_a2, lead_b):
    client = api_client(admin_a, org_a)
    assert _ids(client.get("/api/v1/leads/")) == {str(lead_a.pk), str(lead_a2.pk)}


def test_export_respects_the_scope_and_is_audited(org_a, rep_a, lead_a, lead_a2):
    response = api_client(rep_a, org_a).get("/api/v1/leads/export/?status=new")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert "Drip Drop Plumbing" in body and "Sparky" not in body
    with tenant_context(org_a):
        event = AuditLog.objects.get(action="data.export")
    assert event.actor == rep_a
    assert event.details["rows"] == 1 and event.details["resource"] == "leads"


# --- creating and changing leads -----------------------------------------------------


def test_create_a_lead_with_its_company(org_a, rep_a, tag_a):
    client = api_client(rep_a, org_a)
    response = client.post("/api/v1/leads/", {**NEW_LEAD, "tags": [str(tag_a.pk)]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["assigned_to"]["id"] == str(rep_a.pk)
    assert body["company"]["website"] == "https://dripdrop.test"
    assert body["tags"] == [{"id": str(tag_a.pk), "name": "hot", "color": tag_a.color}]
    assert body["score_breakdown"]["factors"]["website"]["points"] == 30.0
    assert body["allowed_transitions"][0] == "contacted"


def test_a_duplicate_is_reported_and_created_only_when_allowed(org_a, admin_a, lead_a):
    client = api_client(admin_a, org_a)
    duplicate = {"company": {"name": "Drip Drop (again)", "phone": "+44 1632 960001"}}
    response = client.post("/api/v1/leads/", duplicate, format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details["duplicates"] == [
        {"id": str(lead_a.pk), "company": "Drip Drop Plumbing", "matched_on": ["phone"]}
    ]
    assert _count(org_a, Company) == 1
    forced = client.post("/api/v1/leads/", {**duplicate, "allow_duplicate": True}, format="json")
    assert forced.status_code == 201
    groups = client.get("/api/v1/leads/duplicates/").json()["groups"]
    assert len(groups) == 1 and len(groups[0]["leads"]) == 2


def test_a_lead_for_an_existing_company(org_a, admin_a):
    with tenant_context(org_a):
        company = Company.objects.create(name="Lone Company")
    client = api_client(admin_a, org_a)
    response = client.post("/api/v1/leads/", {"company_id": str(company.pk)}, format="json")
    assert response.status_code == 201
    again = client.post("/api/v1/leads/", {"company_id": str(company.pk)}, format="json")
    assert again.status_code == 400
    assert "already has a lead" in str(again.json())


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"company": {**NEW_LEAD["company"], "phone": "not a phone"}}, "phone"),
        ({"company": {**NEW_LEAD["company"], "email": "nope@"}}, "email"),
        ({"company": {**NEW_LEAD["company"], "website": "http://"}}, "website"),
        ({**NEW_LEAD, "contact_email": "x@@y"}, "contact_email"),
        ({**NEW_LEAD, "contact_phone": "12"}, "contact_phone"),
        ({**NEW_LEAD, "score_override": 101}, "score_override"),
        ({**NEW_LEAD, "score_override": -1}, "score_override"),
        ({**NEW_LEAD, "status": "flying"}, None),
        ({**NEW_LEAD, "source": "psychic"}, "source"),
        ({"contact_name": "no company"}, "company"),
        ({**NEW_LEAD, "company_id": "not-a-uuid"}, "company_id"),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(org_a, admin_a, payload, field):
    response = api_client(admin_a, org_a).post("/api/v1/leads/", payload, format="json")
    if field is None:  # unknown fields are ignored: status is set through the workflow
        assert response.status_code == 201
        assert response.json()["status"] == "new"
        return
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert field in str(response.json()["error"]["details"])
    assert _count(org_a, Lead) == 0 and _count(org_a, Company) == 0


def test_references_into_another_organization_do_not_exist(
    org_a, admin_a, admin_b, tag_b, lead_a, lead_b
):
    client = api_client(admin_a, org_a)
    cases = [
        ("/api/v1/leads/", {**NEW_LEAD, "tags": [str(tag_b.pk)]}),
        ("/api/v1/leads/", {**NEW_LEAD, "assigned_to": str(admin_b.pk)}),
        ("/api/v1/leads/", {"company_id": str(lead_b.company_id)}),
        ("/api/v1/interactions/", {"lead": str(lead_b.pk), "type": "call"}),
        ("/api/v1/enrichments/", {"lead": str(lead_b.pk), "provider": "maps", "data": {}}),
    ]
    for url, payload in cases:
        response = client.post(url, payload, format="json")
        assert response.status_code == 400, (url, response.content)
        assert "does not exist" in str(response.json()["error"]["details"])
    patch = client.patch(f"/api/v1/leads/{lead_a.pk}/", {"tags": [str(tag_b.pk)]}, format="json")
    assert patch.status_code == 400
    assert _count(org_a, Lead) == 1
    with tenant_context(org_a):
        assert not LeadTag.objects.exists()
    with tenant_context(lead_b.organization_id):
        assert not Interaction.objects.exists()


def test_assignees_must_be_active_members_within_the_scope(
    org_a, admin_a, manager_a, rep_a, rep_a2, readonly_a, lead_a
):
    url = f"/api/v1/leads/{lead_a.pk}/"
    manager = api_client(manager_a, org_a)
    response = manager.patch(url, {"assigned_to": str(rep_a2.pk)}, format="json")
    assert response.status_code == 400
    assert "within your team" in str(response.json())
    rep = api_client(rep_a, org_a)
    assert rep.patch(url, {"assigned_to": str(rep_a2.pk)}, format="json").status_code == 400
    admin = api_client(admin_a, org_a)
    assert admin.patch(url, {"assigned_to": str(rep_a2.pk)}, format="json").status_code == 200
    with tenant_context(org_a):
        from accounts.models import Membership

        Membership.objects.filter(user=readonly_a).update(is_active=False)
    response = admin.patch(url, {"assigned_to": str(readonly_a.pk)}, format="json")
    assert response.status_code == 400


def test_update_lead_and_company_together(org_a, rep_a, lead_a, tag_a):
    response = api_client(rep_a, org_a).patch(
        f"/api/v1/leads/{lead_a.pk}/",
        {
            "contact_title": "Owner",
            "consent_to_contact": True,
            "company": {"online_presence": {"website_status": "none"}, "size": "small"},
            "tags": [str(tag_a.pk)],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["contact_title"] == "Owner"
    assert body["consent_updated_at"] is not None
    assert body["company"]["online_presence"] == {"website_status": "none"}
    assert body["score_breakdown"]["factors"]["website"]["reason"] == "Website: none"
    assert [t["name"] for t in body["tags"]] == ["hot"]


# --- workflow ------------------------------------------------------------------------


def test_an_invalid_transition_is_409_with_the_allowed_states(org_a, admin_a, lead_a):
    client = api_client(admin_a, org_a)
    url = f"/api/v1/leads/{lead_a.pk}/change-status/"
    assert client.post(url, {"status": "lost"}, format="json").status_code == 200
    response = client.post(url, {"status": "converted"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["details"] == {"allowed": ["nurturing"]}
    patch = client.patch(f"/api/v1/leads/{lead_a.pk}/", {"status": "qualified"}, format="json")
    assert patch.status_code == 409
    with tenant_context(org_a):
        assert Lead.objects.get(pk=lead_a.pk).status == "lost"


def test_qualify_below_threshold_needs_a_reason(org_a, rep_a, lead_a):
    client = api_client(rep_a, org_a)
    url = f"/api/v1/leads/{lead_a.pk}/qualify/"
    response = client.post(url, {}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["details"]
    response = client.post(url, {"reason": "Asked for a quote"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "qualified"
    timeline = client.get(f"/api/v1/leads/{lead_a.pk}/timeline/").json()["results"]
    assert timeline[0]["subject"] == "Status changed from New to Qualified"
    assert timeline[0]["content"] == "Asked for a quote"


def test_the_timeline_is_newest_first(org_a, rep_a, lead_a):
    now = timezone.now()
    for days in (3, 1, 2):
        InteractionFactory(
            organization=org_a, lead=lead_a, occurred_at=now - dt.timedelta(days=days)
        )
    response = api_client(rep_a, org_a).get(f"/api/v1/leads/{lead_a.pk}/timeline/")
    times = [row["occurred_at"] for row in response.json()["results"]]
    assert len(times) == 3 and times == sorted(times, reverse=True)


def test_the_timeline_counts_and_pages_the_leads_interactions(org_a, rep_a, lead_a):
    for n in range(3):  # other leads: the organization's count is not the timeline's
        make_lead(org_a, contact_name=f"Other {n}", assigned_to=rep_a)
    InteractionFactory.create_batch(4, organization=org_a, lead=lead_a)
    client = api_client(rep_a, org_a)
    url = f"/api/v1/leads/{lead_a.pk}/timeline/"

    pages = [client.get(url, {"page_size": 1, "page": n}) for n in (1, 4, 5)]

    assert [page.status_code for page in pages] == [200, 200, 404]
    assert pages[0].json()["count"] == 4
    assert pages[1].json()["next"] is None and len(pages[1].json()["results"]) == 1


def test_the_timeline_reads_its_lead_only_to_check_access(org_a, rep_a, lead_a, tag_a):
    LeadTagFactory(organization=org_a, lead=lead_a, tag=tag_a)
    client = api_client(rep_a, org_a)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/api/v1/leads/{lead_a.pk}/timeline/").status_code == 200
    lead_reads = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT "leads_lead"')
    ]
    assert len(lead_reads) == 1
    # no company, assignee or tags read for a lead the timeline does not show
    assert "json_build_object" not in lead_reads[0]


def test_logging_an_interaction_updates_the_lead(org_a, rep_a, lead_a):
    client = api_client(rep_a, org_a)
    response = client.post(
        "/api/v1/interactions/",
        {
            "lead": str(lead_a.pk),
            "type": "call",
            "outcome": "meeting_booked",
            "duration_seconds": 300,
            "ai_analysis": {"sentiment": "positive", "next_steps": ["Send quote"]},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    lead = client.get(f"/api/v1/leads/{lead_a.pk}/").json()
    assert lead["last_contacted_at"] == response.json()["occurred_at"]
    assert lead["lead_score"] > lead_a.lead_score
    logged = response.json()
    assert logged["created_by"] == {
        "id": str(rep_a.pk),
        "email": rep_a.email,
        "full_name": rep_a.full_name,
    }
    # listed in the timeline and the organization's list exactly as created
    timeline = client.get(f"/api/v1/leads/{lead_a.pk}/timeline/").json()["results"]
    listed = client.get("/api/v1/interactions/").json()["results"]
    assert logged in timeline and logged in listed


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "telepathy"},
        {"type": "call", "duration_seconds": -5},
        {"type": "call", "ai_analysis": {"sentiment": "ecstatic"}},
        {"type": "call", "ai_analysis": "great call"},
        {"type": "call", "occurred_at": "yesterday"},
    ],
)
def test_bad_interactions_are_refused(org_a, rep_a, lead_a, payload):
    response = api_client(rep_a, org_a).post(
        "/api/v1/interactions/", {"lead": str(lead_a.pk), **payload}, format="json"
    )
    assert response.status_code == 400, response.content
    assert _count(org_a, Interaction) == 0


def test_merge_duplicates_through_the_api(org_a, admin_a, lead_a):
    duplicate = make_lead(org_a, company={"name": "Drip Copy", "phone": "01632 960001"})
    client = api_client(admin_a, org_a)
    found = client.get(f"/api/v1/leads/{lead_a.pk}/duplicates/").json()
    assert [d["lead"]["id"] for d in found] == [str(duplicate.pk)]
    assert found[0]["matched_on"] == ["phone"]
    response = client.post(
        f"/api/v1/leads/{lead_a.pk}/merge/", {"duplicates": [str(duplicate.pk)]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert client.get(f"/api/v1/leads/{duplicate.pk}/").status_code == 404
    assert client.get("/api/v1/leads/duplicates/").json()["groups"] == []


def test_rescore_picks_up_new_weights(org_a, admin_a, lead_a):
    from accounts.models import Organization

    Organization.objects.filter(pk=org_a.pk).update(
        settings={"lead_scoring": {"weights": {"business_type": 100}}}
    )
    response = api_client(admin_a, org_a).post(f"/api/v1/leads/{lead_a.pk}/rescore/")
    assert response.status_code == 200
    assert response.json()["score_breakdown"]["factors"]["business_type"]["weight"] == 100


# --- tags and enrichments ------------------------------------------------------------


def test_tags_are_shared_vocabulary_changed_by_managers(org_a, rep_a, manager_a, tag_a):
    rep = api_client(rep_a, org_a)
    assert _ids(rep.get("/api/v1/tags/")) == {str(tag_a.pk)}
    assert rep.post("/api/v1/tags/", {"name": "warm"}, format="json").status_code == 201
    assert rep.patch(f"/api/v1/tags/{tag_a.pk}/", {"name": "x"}, format="json").status_code == 403
    manager = api_client(manager_a, org_a)
    renamed = manager.patch(f"/api/v1/tags/{tag_a.pk}/", {"name": "blazing"}, format="json")
    assert renamed.status_code == 200
    clash = manager.post("/api/v1/tags/", {"name": "WARM"}, format="json")
    assert clash.status_code == 400
    bad_colour = manager.post("/api/v1/tags/", {"name": "c", "color": "red"}, format="json")
    assert bad_colour.status_code == 400


def test_a_listed_lead_shows_its_company_and_tags_by_name_as_its_detail_does(
    org_a, admin_a, lead_a, lead_a2, tag_a
):
    warm, gone = TagFactory(organization=org_a, name="warm"), TagFactory(organization=org_a)
    for tag in (warm, tag_a, gone):
        LeadTagFactory(organization=org_a, lead=lead_a, tag=tag)
    with tenant_context(org_a):  # every summary field set, JSON of several types included
        Company.objects.filter(pk=lead_a.company_id).update(
            size=CompanySize.SMALL,
            email="office@dripdrop.test",
            website="https://dripdrop.test/",
            city="Leeds",
            postal_code="LS1 4AP",
            online_presence={"google_rating": 4.6, "social_profiles": {"facebook": "x"}},
            is_customer=True,
        )
    client = api_client(admin_a, org_a)
    assert client.delete(f"/api/v1/tags/{gone.pk}/").status_code == 204
    listed = {row["id"]: row for row in client.get("/api/v1/leads/").json()["results"]}
    assert [t["name"] for t in listed[str(lead_a.pk)]["tags"]] == ["hot", "warm"]
    assert listed[str(lead_a2.pk)]["tags"] == []
    assert listed[str(lead_a.pk)]["company"]["name"] == "Drip Drop Plumbing"
    for lead in (lead_a, lead_a2):
        detail = client.get(f"/api/v1/leads/{lead.pk}/").json()
        detail.pop("score_breakdown")  # the lead's own, not a list's (ADR 0007)
        assert listed[str(lead.pk)] == detail
        with tenant_context(org_a):  # a lead read alone, from its rows
            alone = LeadListSerializer(Lead.objects.get(pk=lead.pk)).data
        assert listed[str(lead.pk)] == json.loads(JSONRenderer().render(alone))


def test_deleting_a_tag_takes_it_off_leads(org_a, admin_a, lead_a, tag_a):
    LeadTagFactory(organization=org_a, lead=lead_a, tag=tag_a)
    client = api_client(admin_a, org_a)
    assert client.delete(f"/api/v1/tags/{tag_a.pk}/").status_code == 204
    assert client.get(f"/api/v1/leads/{lead_a.pk}/").json()["tags"] == []
    with tenant_context(org_a):
        assert Tag.all_objects.get(pk=tag_a.pk).is_deleted


def test_an_enrichment_fills_the_company_and_rescores(org_a, rep_a, lead_a):
    client = api_client(rep_a, org_a)
    response = client.post(
        "/api/v1/enrichments/",
        {
            "lead": str(lead_a.pk),
            "provider": "google-places",
            "data": {"google_rating": 4.8, "google_review_count": 60, "website": "drip.test"},
            "confidence": "0.85",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    company = client.get(f"/api/v1/leads/{lead_a.pk}/").json()["company"]
    assert company["online_presence"]["google_review_count"] == 60
    assert company["website"] == "https://drip.test"
    bad = client.post(
        "/api/v1/enrichments/",
        {"lead": str(lead_a.pk), "provider": "x", "data": {}, "confidence": "1.5"},
        format="json",
    )
    assert bad.status_code == 400


def test_an_enrichment_without_data_records_that_nothing_was_found(org_a, rep_a, lead_a):
    """`data` is optional in the schema, as on the model: an empty finding."""
    client = api_client(rep_a, org_a)
    response = client.post(
        "/api/v1/enrichments/", {"lead": str(lead_a.pk), "provider": "maps"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["data"] == {}
    with tenant_context(org_a):
        assert LeadEnrichment.objects.get(pk=response.json()["id"]).data == {}


# --- lists: filters, search, ordering, query counts ----------------------------------


def test_filters_search_and_ordering(org_a, admin_a, lead_a, lead_a2, tag_a, rep_a):
    LeadTagFactory(organization=org_a, lead=lead_a2, tag=tag_a)
    client = api_client(admin_a, org_a)
    assert _ids(client.get("/api/v1/leads/?search=sparky")) == {str(lead_a2.pk)}
    assert _ids(client.get("/api/v1/leads/?search=dana")) == {str(lead_a.pk)}
    assert _ids(client.get("/api/v1/leads/?search=electri")) == {str(lead_a2.pk)}
    assert _ids(client.get("/api/v1/leads/?search=sam")) == {str(lead_a2.pk)}
    assert _ids(client.get("/api/v1/leads/?search=nobody")) == set()
    assert _ids(client.get("/api/v1/leads/?search=Sparky Elec")) == {str(lead_a2.pk)}
    assert _ids(client.get(f"/api/v1/leads/?tags={tag_a.pk}")) == {str(lead_a2.pk)}
    assert _ids(client.get(f"/api/v1/leads/?assigned_to={rep_a.pk}")) == {str(lead_a.pk)}
    assert _ids(client.get("/api/v1/leads/?business_type=electrician")) == {str(lead_a2.pk)}
    assert _ids(client.get("/api/v1/leads/?status=new&status=lost")) == {
        str(lead_a.pk),
        str(lead_a2.pk),
    }
    assert _ids(client.get("/api/v1/leads/?score_min=100")) == set()
    ordered = client.get("/api/v1/leads/?ordering=company__name").json()["results"]
    assert [r["company"]["name"] for r in ordered] == ["Drip Drop Plumbing", "Sparky Electrics"]
    assert _ids(client.get("/api/v1/companies/?search=sparky")) == {str(lead_a2.company_id)}
    assert client.get("/api/v1/interactions/?search=call").status_code == 200


def test_a_search_finds_its_matches_once_and_counts_them_with_the_page(org_a, admin_a):
    for n in range(5):
        make_lead(org_a, company={"name": f"Ashbrook Roofing {n}"}, contact_name=f"Roofer {n}")
    make_lead(org_a, company={"name": "Other Trade"}, contact_name="Zed")
    client = api_client(admin_a, org_a)
    url = "/api/v1/leads/?search=ashbrook&page_size=2"
    with CaptureQueriesContext(connection) as captured:
        first = client.get(url).json()
    assert [
        q["sql"].count("smartweb_search_leads")
        for q in captured.captured_queries
        if "smartweb_search_leads" in q["sql"]
    ] == [1]
    assert (first["count"], first["count_capped"], len(first["results"])) == (5, False, 2)
    assert first["next"] and first["previous"] is None
    second, last = (client.get(f"{url}&page={page}").json() for page in (2, 3))
    assert (last["count"], len(last["results"]), last["next"]) == (5, 1, None)
    pages = (first, second, last)
    assert len({row["id"] for page in pages for row in page["results"]}) == 5
    assert client.get(f"{url}&page=4").status_code == 404
    assert client.get(f"{url}&page=x").status_code == 404
    assert client.get(f"{url}&page={10**20}").status_code == 404
    assert client.get("/api/v1/leads/?search=nobody").json()["count"] == 0
    assert client.get("/api/v1/companies/?search=ashbrook&page_size=2").json()["count"] == 5


@pytest.mark.parametrize(
    "query",
    ["score_min=150", "score_max=-1", "tags=nope", "assigned_to=nope", "created_after=soon"],
)
def test_bad_filters_are_400(org_a, admin_a, query):
    response = api_client(admin_a, org_a).get(f"/api/v1/leads/?{query}")
    assert response.status_code == 400


def _warm(client):
    """A first request records the token's use (once a minute): keep it out of counts."""
    assert client.get("/api/v1/tags/").status_code == 200
    return client


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


def _populate(org, user, n):
    tags = [TagFactory(organization=org) for _ in range(n)]
    for i in range(n):
        lead = make_lead(org, company={"name": f"Co {i}"}, assigned_to=user, tags=tags[:2])
        InteractionFactory(organization=org, lead=lead, created_by=user)


@pytest.mark.parametrize(
    "url", ["/api/v1/leads/", "/api/v1/companies/", "/api/v1/interactions/", "/api/v1/tags/"]
)
@pytest.mark.parametrize("who", ["admin_a", "rep_a"])
def test_list_query_count_does_not_grow_with_rows(request, org_a, who, url):
    user = request.getfixturevalue(who)
    client = _warm(api_client(user, org_a))
    _populate(org_a, user, 5)
    few = _queries(client, url)
    _populate(org_a, user, 15)
    assert len(client.get(url).json()["results"]) >= 20
    assert _queries(client, url) == few


def test_timeline_query_count_does_not_grow(org_a, rep_a, lead_a):
    client = _warm(api_client(rep_a, org_a))
    url = f"/api/v1/leads/{lead_a.pk}/timeline/"
    for _ in range(3):
        InteractionFactory(organization=org_a, lead=lead_a, created_by=rep_a)
    few = _queries(client, url)
    for _ in range(12):
        InteractionFactory(organization=org_a, lead=lead_a, created_by=rep_a)
    assert _queries(client, url) == few


def test_a_list_shows_the_score_and_the_lead_its_breakdown(org_a, rep_a, lead_a):
    client = api_client(rep_a, org_a)
    with CaptureQueriesContext(connection) as queries:
        listed = client.get("/api/v1/leads/").json()["results"]
    assert [lead["id"] for lead in listed] == [str(lead_a.pk)]
    assert listed[0]["lead_score"] == lead_a.lead_score and "score_breakdown" not in listed[0]
    page = next(
        q["sql"] for q in queries if 'FROM "leads_lead"' in q["sql"] and "LIMIT" in q["sql"]
    )
    assert "score_breakdown" not in page
    lead = client.get(f"/api/v1/leads/{lead_a.pk}/").json()
    assert lead["score_breakdown"]["factors"]["website"]["reason"]
