"""Versions of leads: the ETag and If-Match of the API, the admin's refusal of a stale
save, and updates that write only what they change."""

import pytest
from django.urls import reverse

from leads import services
from leads.models import Interaction, Lead
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client
from tests.leads.factories import InteractionFactory, acting_as, make_lead
from tests.leads.test_admin import INLINE_MANAGEMENT

pytestmark = pytest.mark.django_db

VERSION = "_version"  # the admin form's hidden field


def _url(lead):
    return f"/api/v1/leads/{lead.pk}/"


def _stored(org, lead) -> Lead:
    with tenant_context(org):
        return Lead.objects.select_related("company").get(pk=lead.pk)


def test_a_change_with_the_current_etag_is_made_and_answers_the_new_one(org_a, admin_a, lead_a):
    client = api_client(admin_a, org_a)
    etag = client.get(_url(lead_a)).headers["ETag"]
    changed = client.patch(
        _url(lead_a), {"contact_name": "Dana D."}, format="json", HTTP_IF_MATCH=etag
    )
    assert changed.status_code == 200, changed.content
    assert changed.headers["ETag"] not in ("", etag)
    assert client.get(_url(lead_a)).headers["ETag"] == changed.headers["ETag"]


def test_a_change_with_a_stale_etag_is_refused_with_the_current_state(org_a, admin_a, lead_a):
    client = api_client(admin_a, org_a)
    stale = client.get(_url(lead_a)).headers["ETag"]
    first = client.patch(_url(lead_a), {"contact_name": "First"}, format="json")
    refused = client.patch(
        _url(lead_a), {"contact_name": "Second"}, format="json", HTTP_IF_MATCH=stale
    )
    assert refused.status_code == 412
    error = refused.json()["error"]
    assert error["code"] == "precondition_failed"
    assert error["details"]["current"]["contact_name"] == "First"
    assert refused.headers["ETag"] == first.headers["ETag"]
    assert _stored(org_a, lead_a).contact_name == "First"
    deleted = client.delete(_url(lead_a), HTTP_IF_MATCH=stale)
    assert deleted.status_code == 412
    assert not _stored(org_a, lead_a).is_deleted
    assert client.delete(_url(lead_a), HTTP_IF_MATCH=first.headers["ETag"]).status_code == 204


@pytest.mark.parametrize("header", ["", '"', ",,", "abc", "1796579207183074", '"1" "2"', "W/"])
def test_a_malformed_if_match_is_refused_naming_it_and_changes_nothing(
    org_a, admin_a, lead_a, header
):
    """Not a 412 ("changed since you read it"): reading the row again would not help."""
    client = api_client(admin_a, org_a)
    refused = client.patch(
        _url(lead_a), {"contact_name": "Other"}, format="json", HTTP_IF_MATCH=header
    )
    assert refused.status_code == 400, refused.content
    assert list(refused.json()["error"]["details"]) == ["If-Match"]
    assert _stored(org_a, lead_a).contact_name == lead_a.contact_name
    deleted = client.delete(_url(lead_a), HTTP_IF_MATCH=header)
    assert deleted.status_code == 400
    assert _stored(org_a, lead_a).deleted_at is None


def test_if_match_may_list_several_tags_or_any(org_a, admin_a, lead_a):
    client = api_client(admin_a, org_a)
    etag = client.get(_url(lead_a)).headers["ETag"]
    for header in (f'"1", {etag}', "*"):
        changed = client.patch(_url(lead_a), {"notes": header}, format="json", HTTP_IF_MATCH=header)
        assert changed.status_code == 200, changed.content
    weak = client.patch(_url(lead_a), {"notes": "weak"}, format="json", HTTP_IF_MATCH="W/" + etag)
    assert weak.status_code == 412  # compared strongly: a weak tag matches nothing


def test_an_unchanged_save_writes_nothing_and_keeps_the_version(org_a, admin_a, lead_a):
    client = api_client(admin_a, org_a)
    etag = client.get(_url(lead_a)).headers["ETag"]
    with tenant_context(org_a):
        versions = Lead.history.filter(id=lead_a.pk).count()
    same = client.patch(_url(lead_a), {"contact_name": lead_a.contact_name}, format="json")
    assert same.status_code == 200 and same.headers["ETag"] == etag
    with tenant_context(org_a):
        assert Lead.history.filter(id=lead_a.pk).count() == versions


def test_the_same_values_again_leave_a_lead_whose_score_aged_as_it_is(org_a, admin_a, lead_a):
    """Its stored score differs from what scoring it now gives (interactions past the
    engagement window): sent its own values, the lead is not re-scored either."""
    client = api_client(admin_a, org_a)
    with tenant_context(org_a):
        Lead.objects.filter(pk=lead_a.pk).update(lead_score=99)  # aged: no history row
        versions = Lead.history.filter(id=lead_a.pk).count()
    etag = client.get(_url(lead_a)).headers["ETag"]
    same = client.patch(_url(lead_a), {"contact_name": lead_a.contact_name}, format="json")
    assert same.status_code == 200 and same.headers["ETag"] == etag
    assert same.json()["lead_score"] == 99
    with tenant_context(org_a):
        assert Lead.history.filter(id=lead_a.pk).count() == versions


def test_an_interaction_saved_unchanged_leaves_its_lead_as_it_is(org_a, rep_a):
    """Saved as it was (the admin's form unchanged sends no field, the API the same
    values), an interaction writes nothing of its lead: not a re-score of a score that
    aged since (its stored score here differs from what scoring it now gives)."""
    lead = make_lead(org_a, assigned_to=rep_a)
    interaction = InteractionFactory(organization=org_a, lead=lead, subject="Intro call")
    with tenant_context(org_a):
        Lead.objects.filter(pk=lead.pk).update(lead_score=99)  # aged: no history row
        before = Lead.objects.values().get(pk=lead.pk)
        versions = Lead.history.filter(id=lead.pk).count()
    with acting_as(org_a, rep_a):
        for data in ({}, {"subject": "Intro call", "type": interaction.type}):
            services.interaction_update(
                interaction=Interaction.objects.get(pk=interaction.pk),
                acting_user=rep_a,
                data=data,
            )
    with tenant_context(org_a):
        assert Lead.objects.values().get(pk=lead.pk) == before
        assert Lead.history.filter(id=lead.pk).count() == versions
        interaction_versions = Interaction.history.filter(id=interaction.pk).count()
    assert interaction_versions == 1


def test_if_match_can_be_required(org_a, admin_a, lead_a, settings):
    settings.REQUIRE_IF_MATCH = True
    client = api_client(admin_a, org_a)
    missing = client.patch(_url(lead_a), {"contact_name": "X"}, format="json")
    assert missing.status_code == 428
    assert missing.json()["error"]["code"] == "precondition_required"
    assert _stored(org_a, lead_a).contact_name == "Dana Drip"
    etag = client.get(_url(lead_a)).headers["ETag"]
    given = client.patch(_url(lead_a), {"contact_name": "X"}, format="json", HTTP_IF_MATCH=etag)
    assert given.status_code == 200


def test_another_organization_or_no_permission_learns_nothing_of_the_version(
    org_a, org_b, admin_a, admin_b, readonly_a, lead_a
):
    etag = api_client(admin_a, org_a).get(_url(lead_a)).headers["ETag"]
    other = api_client(admin_b, org_b)
    assert other.get(_url(lead_a)).status_code == 404
    assert other.patch(_url(lead_a), {}, format="json", HTTP_IF_MATCH='"1"').status_code == 404
    viewer = api_client(readonly_a, org_a)
    refused = viewer.patch(_url(lead_a), {"notes": "x"}, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 403


def test_an_update_from_a_stale_read_keeps_what_others_wrote(org_a, admin_a, lead_a):
    """A service given a row read before another change writes only its own fields, and
    the history's snapshot holds both changes."""
    stale = _stored(org_a, lead_a)
    with tenant_context(org_a):
        services.lead_update(
            lead=_stored(org_a, lead_a),
            acting_user=None,
            data={"contact_name": "Dana Renamed"},
            company_data={"city": "Leeds"},
        )
        services.lead_update(lead=stale, acting_user=None, data={"notes": "Call after 5"})
        services.company_update(company=stale.company, acting_user=None, data={"size": "small"})
    stored = _stored(org_a, lead_a)
    assert (stored.contact_name, stored.notes) == ("Dana Renamed", "Call after 5")
    assert (stored.company.city, stored.company.size) == ("Leeds", "small")
    with tenant_context(org_a):
        latest = Lead.history.filter(id=lead_a.pk).order_by("-history_date").first()
    assert (latest.contact_name, latest.notes) == ("Dana Renamed", "Call after 5")


def _lead_form(lead, **changes):
    return {
        "source": lead.source,
        "assigned_to": str(lead.assigned_to_id),
        "contact_name": lead.contact_name,
        "contact_title": lead.contact_title,
        "contact_email": lead.contact_email,
        "contact_phone": lead.contact_phone,
        "score_override": "",
        "next_follow_up_at_0": "",
        "next_follow_up_at_1": "",
        "notes": lead.notes,
        **INLINE_MANAGEMENT,
        **changes,
    }


def test_the_admin_refuses_a_stale_save_and_keeps_the_input(client, org_a, admin_a, lead_a):
    client.force_login(admin_a)
    url = reverse("admin:leads_lead_change", args=[lead_a.pk])
    opened = client.get(url)
    version = opened.context["adminform"].form[VERSION].value()
    assert f'name="{VERSION}" value="{version}"' in opened.content.decode()
    meanwhile = api_client(admin_a, org_a).patch(
        f"/api/v1/leads/{lead_a.pk}/", {"contact_name": "Changed Meanwhile"}, format="json"
    )
    assert meanwhile.status_code == 200
    form = _lead_form(lead_a, notes="My careful notes", **{VERSION: version})
    refused = client.post(url, form)
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "changed by" in page and "since you opened it" in page
    assert "Changed Meanwhile" in page and "My careful notes" in page
    assert _stored(org_a, lead_a).notes != "My careful notes"
    # Saving again, having seen the changes, goes through with the new version.
    again = refused.context["adminform"].form[VERSION].value()
    assert again != version
    saved = client.post(url, {**form, VERSION: again})
    assert saved.status_code == 302
    assert _stored(org_a, lead_a).notes == "My careful notes"


def test_a_read_tags_the_row_it_read_without_reading_its_version_again(org_a, admin_a, lead_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from smartweb.versioning import etag, version_of

    client = api_client(admin_a, org_a)
    client.get(_url(lead_a))  # a new token's first use records it (one write)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(_url(lead_a))
    assert response.headers["ETag"] == etag(version_of(_stored(org_a, lead_a).updated_at))
    version_read = 'SELECT "leads_lead"."updated_at"'
    version_reads = [q for q in captured.captured_queries if q["sql"].startswith(version_read)]
    assert version_reads == []


@pytest.mark.parametrize("method", ["patch", "post"])
def test_a_write_tags_the_row_it_answers_without_reading_its_version_again(
    org_a, admin_a, lead_a, method
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from smartweb.versioning import etag, version_of

    client = api_client(admin_a, org_a)
    client.get(_url(lead_a))  # a new token's first use records it (one write)
    with CaptureQueriesContext(connection) as captured:
        if method == "patch":
            response = client.patch(_url(lead_a), {"notes": "Written"}, format="json")
        else:
            body = {"contact_name": "Pat New", "company": {"name": "Pat New Roofing"}}
            response = client.post("/api/v1/leads/", body, format="json")
    assert response.status_code in (200, 201), response.content
    with tenant_context(org_a):
        written = Lead.objects.get(pk=response.json()["id"])
    assert response.headers["ETag"] == etag(version_of(written.updated_at))
    version_read = 'SELECT "leads_lead"."updated_at"'
    version_reads = [q for q in captured.captured_queries if q["sql"].startswith(version_read)]
    assert version_reads == []


# --- the tags and the company are part of the lead's version -------------------------


def _history_count(org, lead) -> int:
    with tenant_context(org):
        return Lead.history.filter(id=lead.pk).count()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("tags", "tags"),
        ({"company": {"phone": "+44 20 7946 0001"}}, {"company": {"phone": "+44 20 7946 0002"}}),
    ],
    ids=["tags", "company"],
)
def test_a_change_of_the_tags_or_the_company_moves_the_version(
    org_a, admin_a, lead_a, first, second
):
    """Both are shown with the lead and written by its PATCH: a client holding the version
    from before another's change of them is refused, as for the lead's own fields."""
    from tests.leads.factories import TagFactory

    if first == "tags":
        one, two = (TagFactory(organization=org_a, name=n) for n in ("one", "two"))
        first, second = {"tags": [str(one.pk)]}, {"tags": [str(two.pk)]}
    client = api_client(admin_a, org_a)
    etag = client.get(_url(lead_a)).headers["ETag"]
    changed = client.patch(_url(lead_a), first, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200, changed.content
    assert changed.headers["ETag"] != etag
    assert client.get(_url(lead_a)).headers["ETag"] == changed.headers["ETag"]
    refused = client.patch(_url(lead_a), second, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 412
    shown = client.get(_url(lead_a)).json()
    if "tags" in first:
        assert [t["id"] for t in shown["tags"]] == first["tags"]
    else:
        assert shown["company"]["phone"] == changed.json()["company"]["phone"]
    # The same tags or company again change nothing: no new version, no history row.
    versions = _history_count(org_a, lead_a)
    same = client.patch(_url(lead_a), first, format="json", HTTP_IF_MATCH=changed.headers["ETag"])
    assert same.status_code == 200 and same.headers["ETag"] == changed.headers["ETag"]
    assert _history_count(org_a, lead_a) == versions


def test_a_change_of_the_company_on_its_own_moves_its_leads_version(org_a, admin_a, lead_a):
    client = api_client(admin_a, org_a)
    etag = client.get(_url(lead_a)).headers["ETag"]
    company = f"/api/v1/companies/{lead_a.company_id}/"
    assert client.patch(company, {"city": "Leeds"}, format="json").status_code == 200
    refused = client.patch(_url(lead_a), {"notes": "x"}, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 412
    assert refused.json()["error"]["details"]["current"]["company"]["city"] == "Leeds"


def test_tagging_leads_in_bulk_moves_the_versions_of_those_tagged(org_a, admin_a, lead_a, tag_a):
    client = api_client(admin_a, org_a)
    etag = client.get(_url(lead_a)).headers["ETag"]
    with tenant_context(org_a):
        assert services.leads_add_tag(leads=[lead_a], tag=tag_a, acting_user=None) == 1
    tagged = client.get(_url(lead_a)).headers["ETag"]
    assert tagged != etag
    with tenant_context(org_a):
        assert services.leads_add_tag(leads=[lead_a], tag=tag_a, acting_user=None) == 0
    assert client.get(_url(lead_a)).headers["ETag"] == tagged


def test_the_admins_tag_inline_moves_the_version_and_is_checked_like_the_fields(
    client, org_a, admin_a, lead_a, tag_a
):
    """A tag added on the lead's admin page moves its version (a stale API change is then
    refused), and a tag inline saved from a stale page is refused like its fields."""
    api = api_client(admin_a, org_a)
    etag = api.get(_url(lead_a)).headers["ETag"]
    client.force_login(admin_a)
    url = reverse("admin:leads_lead_change", args=[lead_a.pk])
    version = client.get(url).context["adminform"].form[VERSION].value()
    tag_row = {
        "lead_tags-TOTAL_FORMS": "1",
        "lead_tags-0-tag": str(tag_a.pk),
        "lead_tags-0-lead": str(lead_a.pk),
    }
    saved = client.post(url, _lead_form(lead_a, **tag_row, **{VERSION: version}))
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert [t["name"] for t in api.get(_url(lead_a)).json()["tags"]] == ["hot"]
    with tenant_context(org_a):
        from leads.models import LeadTag

        assert LeadTag.history.filter(lead_id=lead_a.pk).count() == 1
    refused = api.patch(_url(lead_a), {"tags": []}, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 412
    # The page opened before the tag was added is stale for a tag change too.
    again = client.post(url, _lead_form(lead_a, **{VERSION: version}))
    assert again.status_code == 200 and "since you opened it" in again.content.decode()


# --- a workflow step on one row honours If-Match as an edit does ---------------------


def test_a_status_change_checks_if_match(org_a, admin_a, lead_a, settings):
    client = api_client(admin_a, org_a)
    url = f"{_url(lead_a)}change-status/"
    body = {"status": "contacted"}
    bogus = client.post(url, body, format="json", HTTP_IF_MATCH='"1"')
    assert bogus.status_code == 412
    assert bogus.json()["error"]["details"]["current"]["status"] == "new"
    assert _stored(org_a, lead_a).status == "new"
    etag = client.get(_url(lead_a)).headers["ETag"]
    moved = client.post(url, body, format="json", HTTP_IF_MATCH=etag)
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    assert client.post(url, {"status": "new"}, format="json").status_code in (200, 409)
    settings.REQUIRE_IF_MATCH = True
    missing = client.post(f"{_url(lead_a)}rescore/", format="json")
    assert missing.status_code == 428
