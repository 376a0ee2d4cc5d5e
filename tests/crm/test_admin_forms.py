"""A campaign's lead filter as a form with a live count of the leads it selects."""

import pytest
from django.urls import reverse

from crm.models import AICall, Campaign
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db

FILTER = {"statuses": ["new", "contacted"], "website_statuses": ["none"], "min_score": 0}
COUNT = reverse("admin:crm_campaign_lead_count")


@pytest.fixture
def campaign(org_a):
    return factories.campaign(org_a, lead_filter=FILTER)


def _stored(org, pk):
    with tenant_context(org):
        row = Campaign.all_objects.get(pk=pk)
        return row, row.history.count()


def test_the_lead_filter_is_a_form_and_saving_unchanged_changes_nothing(
    client, org_a, admin_a, campaign
):
    client.force_login(admin_a)
    url = reverse("admin:crm_campaign_change", args=[campaign.pk])
    page = client.get(url)
    body = page.content.decode()
    assert 'name="lead_filter"' not in body and "crm/lead_filter_count.js" in body
    assert f'data-count-url="{COUNT}"' in body
    data = form_data(body, "campaign_form")
    assert data["lead_filter-statuses"] == ["new", "contacted"]
    _, versions = _stored(org_a, campaign.pk)
    assert client.post(url, data).status_code == 302
    after, versions_after = _stored(org_a, campaign.pk)
    assert after.lead_filter == FILTER and versions_after == versions

    data["lead_filter-statuses"] = ["qualified"]
    data["lead_filter-min_score"] = ["40"]
    data["lead_filter-max_score"] = ["90"]
    data["lead_filter-tags"] = ["hot, roofers "]
    assert client.post(url, data).status_code == 302
    assert _stored(org_a, campaign.pk)[0].lead_filter == {
        "statuses": ["qualified"],
        "website_statuses": ["none"],
        "min_score": 40,
        "max_score": 90,
        "tags": ["hot", "roofers"],
    }

    data["lead_filter-min_score"] = ["95"]
    refused = client.post(url, data)
    assert refused.status_code == 200 and "minimum is above the maximum" in refused.content.decode()


def test_the_calling_days_are_weekdays_to_tick(client, org_a, admin_a):
    campaign = factories.campaign(org_a, calling_days=[0, 2, 4])
    client.force_login(admin_a)
    url = reverse("admin:crm_campaign_change", args=[campaign.pk])
    body = client.get(url).content.decode()
    saturday = '<input type="checkbox" name="calling_days" value="5" id="id_calling_days_5">'
    assert saturday in body and "Saturday</label>" in body
    data = form_data(body, "campaign_form")
    assert data["calling_days"] == ["0", "2", "4"]
    _, versions = _stored(org_a, campaign.pk)
    assert client.post(url, data).status_code == 302
    assert _stored(org_a, campaign.pk)[1] == versions

    data["calling_days"] = ["5", "6", "0"]
    assert client.post(url, data).status_code == 302
    assert sorted(_stored(org_a, campaign.pk)[0].calling_days) == [0, 5, 6]

    data["calling_days"] = []
    refused = client.post(url, data)
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()
    data["calling_days"] = ["7"]
    refused = client.post(url, data)
    assert refused.status_code == 200 and "Select a valid choice." in refused.content.decode()
    assert sorted(_stored(org_a, campaign.pk)[0].calling_days) == [0, 5, 6]


def test_the_live_count_counts_matching_leads_of_the_users_organization(
    client, org_a, org_b, admin_a, admin_b
):
    factories.lead(org_a, status="new")
    factories.lead(org_a, status="contacted")
    factories.lead(org_a, status="new", consent=False)  # not callable
    factories.lead(org_b, status="new")
    client.force_login(admin_a)
    everyone = {"whole_organization": True}
    assert client.get(COUNT).json() == {"count": 2, **everyone}
    contacted = client.get(COUNT, {"lead_filter-statuses": "contacted"})
    assert contacted.json() == {"count": 1, **everyone}
    assert client.get(COUNT, {"lead_filter-statuses": "lost"}).json() == {"count": 0, **everyone}
    bad = client.get(COUNT, {"lead_filter-min_score": "300"})
    assert bad.status_code == 400
    client.force_login(admin_b)
    assert client.get(COUNT).json() == {"count": 1, **everyone}


def test_the_live_count_counts_only_the_leads_the_user_may_read(
    client, org_a, manager_a, rep_a, rep_a2, admin_a
):
    """A team's manager is told how many of their team's leads match, not how many of
    the organization's (which told of leads outside their scope by their attributes), and
    that the campaign will call every matching lead of the organization."""
    factories.lead(org_a, status="qualified", assigned_to=rep_a)
    factories.lead(org_a, status="qualified", assigned_to=rep_a2)
    factories.lead(org_a, status="qualified")
    query = {"lead_filter-statuses": "qualified"}
    client.force_login(manager_a)
    assert client.get(COUNT, query).json() == {"count": 1, "whole_organization": False}
    client.force_login(admin_a)
    assert client.get(COUNT, query).json() == {"count": 3, "whole_organization": True}


def test_the_live_count_is_refused_to_who_may_not_edit_campaigns(client, rep_a, readonly_a):
    for user in (rep_a, readonly_a):
        client.force_login(user)
        assert client.get(COUNT).status_code == 403


def test_a_calls_ai_analysis_reads_as_a_list_not_json(client, org_a, admin_a, campaign):
    call = factories.ai_call(org_a, in_campaign=campaign)
    analysis = {"sentiment": "positive", "next_steps": ["Send a quote", "Call <Monday>"]}
    with tenant_context(org_a):
        AICall.objects.filter(pk=call.pk).update(analysis=analysis)
    client.force_login(admin_a)
    body = client.get(reverse("admin:crm_aicall_change", args=[call.pk])).content.decode()
    assert "<dt>Sentiment</dt><dd>positive</dd>" in body
    assert "<li>Call &lt;Monday&gt;</li>" in body
    assert '"next_steps"' not in body
