"""The CRM back office: every page works for the organization's people, shows nothing of
another organization, and writes through the services."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Membership
from crm import services
from crm.admin import CONVERTIBLE_LEADS_ONLY
from crm.choices import AICallStatus, CallOutcome, CampaignStatus, ContractStatus, ProposalStatus
from crm.models import AICall, AICallWebhookSecret, Campaign, Contract, Opportunity, Proposal, Task
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.factories import acting_as, make_member
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db

MODELS = ["pipeline", "opportunity", "proposal", "contract", "campaign", "aicall", "task"]


def _admin(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def deal_a(org_a, rep_a, opp_a):
    """A sent proposal, its draft contract, a campaign with a call and a task, all in A."""
    proposal = factories.proposal(org_a, opp_a, title="Acme proposal")
    with tenant_context(org_a):
        services.proposal_send(proposal=proposal, acting_user=None)
        contract = services.proposal_accept(proposal=proposal, acting_user=None)
    campaign = factories.campaign(org_a, name="Acme spring calls")
    call = factories.ai_call(org_a, in_campaign=campaign)
    task = factories.task(org_a, title="Acme follow-up", assigned_to=rep_a, opportunity=opp_a)
    return {
        "pipeline": opp_a.pipeline,
        "opportunity": opp_a,
        "proposal": proposal,
        "contract": contract,
        "campaign": campaign,
        "aicall": call,
        "task": task,
    }


def test_every_page_works_for_the_organization_admin(deal_a, admin_a):
    client = _admin(admin_a)
    for name in MODELS:
        listed = client.get(reverse(f"admin:crm_{name}_changelist"))
        assert listed.status_code == 200, name
        changed = client.get(reverse(f"admin:crm_{name}_change", args=[deal_a[name].pk]))
        assert changed.status_code == 200, name
    board = client.get(reverse("admin:crm_pipeline_board", args=[deal_a["pipeline"].pk]))
    assert board.status_code == 200 and b"Drip Drop website" in board.content
    dashboard = client.get(reverse("admin:crm_salesdashboard_changelist"))
    assert dashboard.status_code == 200
    for chart in (b"Pipeline funnel", b"By month", b"Lead sources", b"<svg"):
        assert chart in dashboard.content
    assert client.get(reverse("admin:crm_opportunity_convert")).status_code == 200
    assert client.get(reverse("admin:crm_campaign_webhook_secret")).status_code == 200
    index = client.get(reverse("admin:index"))
    dashboard_url = reverse("admin:crm_salesdashboard_changelist").encode()
    assert b"Sales dashboard" in index.content and dashboard_url in index.content


def test_another_organization_sees_none_of_it(deal_a, admin_b, opp_b):
    client = _admin(admin_b)
    for name in MODELS:
        listed = client.get(reverse(f"admin:crm_{name}_changelist"))
        assert listed.status_code == 200, name
        assert str(deal_a[name].pk).encode() not in listed.content, name
        changed = client.get(reverse(f"admin:crm_{name}_change", args=[deal_a[name].pk]))
        assert changed.status_code == 404, name  # as in the API, never a redirect
        history = client.get(reverse(f"admin:crm_{name}_history", args=[deal_a[name].pk]))
        assert history.status_code in (302, 404), name
    for text in (b"Drip Drop", b"Acme"):
        for page in (
            "crm_salesdashboard_changelist",
            "crm_opportunity_changelist",
            "crm_task_changelist",
        ):
            assert text not in client.get(reverse(f"admin:{page}")).content
    board = client.get(reverse("admin:crm_pipeline_board", args=[deal_a["pipeline"].pk]))
    assert board.status_code == 404
    own = client.get(reverse("admin:crm_pipeline_board", args=[opp_b.pipeline_id]))
    assert own.status_code == 200 and b"Bravo website" in own.content
    assert b"Drip Drop" not in own.content


def test_read_only_people_view_but_do_not_change(deal_a, readonly_a):
    client = _admin(readonly_a)
    assert client.get(reverse("admin:crm_opportunity_changelist")).status_code == 200
    assert client.get(reverse("admin:crm_opportunity_convert")).status_code == 403
    assert client.get(reverse("admin:crm_campaign_webhook_secret")).status_code == 403
    url = reverse("admin:crm_task_change", args=[deal_a["task"].pk])
    client.post(url, {"title": "Renamed", "type": "todo", "priority": "normal", "status": "open"})
    with tenant_context(deal_a["task"].organization_id):
        assert Task.objects.get(pk=deal_a["task"].pk).title == "Acme follow-up"


def test_convert_a_lead_from_the_admin(org_a, admin_a):
    lead = factories.qualified_lead(org_a)
    unqualified = factories.lead(org_a)
    client = _admin(admin_a)
    url = reverse("admin:crm_opportunity_convert")
    refused = client.post(url, {"lead": str(unqualified.pk), "value": "100"})
    assert refused.status_code == 200 and CONVERTIBLE_LEADS_ONLY in refused.content.decode()
    done = client.post(url, {"lead": str(lead.pk), "value": "1500.00", "currency": "EUR"})
    assert done.status_code == 302
    with tenant_context(org_a):
        opportunity = Opportunity.objects.get()
        assert opportunity.lead_id == lead.pk and str(opportunity.weighted_value) == "150.00"


def _proposal_form(opportunity, title: str, *lines: tuple[str, str, str, str, str]) -> dict:
    """The proposal add form as posted: its lines as (description, quantity, unit price,
    discount %, tax %)."""
    prefix = "line_items"
    data = {
        "opportunity": str(opportunity.pk),
        "title": title,
        "currency": "EUR",
        "notes": "",
        f"{prefix}-TOTAL_FORMS": str(len(lines)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    names = ("description", "quantity", "unit_price", "discount_percent", "tax_rate")
    for row, line in enumerate(lines):
        data[f"{prefix}-{row}-position"] = str(row)
        data.update(
            {f"{prefix}-{row}-{name}": value for name, value in zip(names, line, strict=True)}
        )
    return data


def test_proposal_with_lines_from_the_admin_is_priced_and_sent(org_a, admin_a, opp_a):
    client = _admin(admin_a)
    data = _proposal_form(
        opp_a,
        "Website and hosting",
        ("Website", "1", "2000.00", "5", "20"),
        ("Hosting", "12", "9.99", "0", "20"),
    )
    response = client.post(reverse("admin:crm_proposal_add"), data)
    assert response.status_code == 302, response.content[:2000]
    with tenant_context(org_a):
        proposal = Proposal.objects.get()
        assert proposal.number.startswith("P-")
        assert str(proposal.subtotal) == "2119.88" and str(proposal.total) == "2423.86"
    changelist = reverse("admin:crm_proposal_changelist")
    client.post(changelist, {"action": "send", "_selected_action": [str(proposal.pk)]})
    client.post(changelist, {"action": "mark_accepted", "_selected_action": [str(proposal.pk)]})
    with tenant_context(org_a):
        assert Proposal.objects.get().status == ProposalStatus.ACCEPTED
        assert Contract.objects.get().value == proposal.total


def test_a_proposal_for_a_foreign_currency_is_an_error_at_its_currency(org_a, admin_a, opp_a):
    data = {
        "opportunity": str(opp_a.pk),
        "title": "Dollars",
        "currency": "USD",
        "line_items-TOTAL_FORMS": "0",
        "line_items-INITIAL_FORMS": "0",
    }
    response = _admin(admin_a).post(reverse("admin:crm_proposal_add"), data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {"currency": ["The opportunity is priced in EUR, not USD."]}
    assert form["title"].value() == "Dollars"
    with tenant_context(org_a):
        assert not Proposal.objects.exists()


def test_a_line_out_of_range_is_an_error_at_its_field_in_words(org_a, admin_a, opp_a):
    data = _proposal_form(
        opp_a,
        "Out of range",
        ("Website", "0", "2000.00", "150", "20"),
        ("Hosting", "1", "-5", "0", "120"),
    )
    response = _admin(admin_a).post(reverse("admin:crm_proposal_add"), data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.errors == [
        {
            "quantity": ["The quantity must be more than zero."],
            "discount_percent": ["Use a percentage between 0 and 100."],
        },
        {
            "unit_price": ["The unit price cannot be negative."],
            "tax_rate": ["Use a percentage between 0 and 100."],
        },
    ]
    assert formset.non_form_errors() == [] and "Constraint" not in response.content.decode()
    with tenant_context(org_a):
        assert not Proposal.objects.exists()


def _refused_change(client, page: str, form_id: str, **changes):
    """The change page's form posted with `changes` over what it shows, answered with the
    form again (200): the response and its form."""
    data = form_data(client.get(page).content.decode(), form_id)
    data.update({name: [value] for name, value in changes.items()})
    response = client.post(page, data)
    assert response.status_code == 200
    return response, response.context["adminform"].form


def test_a_deals_value_or_probability_out_of_range_is_an_error_at_its_field(org_a, admin_a, opp_a):
    page = reverse("admin:crm_opportunity_change", args=[opp_a.pk])
    changes = {"name": "Renamed deal", "value": "-5", "probability": "150"}
    response, form = _refused_change(_admin(admin_a), page, "opportunity_form", **changes)
    assert form.errors == {
        "value": ["Ensure this value is greater than or equal to 0."],
        "probability": ["Ensure this value is less than or equal to 100."],
    }
    assert form["name"].value() == "Renamed deal"
    assert "Constraint" not in response.content.decode()
    with tenant_context(org_a):
        assert Opportunity.objects.get(pk=opp_a.pk).name == opp_a.name


def test_a_contract_ending_before_it_starts_is_an_error_at_its_end_date(deal_a, org_a, admin_a):
    contract = deal_a["contract"]
    page = reverse("admin:crm_contract_change", args=[contract.pk])
    _, form = _refused_change(
        _admin(admin_a),
        page,
        "contract_form",
        start_date="2027-02-01",
        end_date="2027-01-01",
        terms="Twelve months",
    )
    assert form.errors == {"end_date": ["The end is before the start."]}
    assert form["terms"].value() == "Twelve months"
    with tenant_context(org_a):
        assert Contract.objects.get(pk=contract.pk).terms == contract.terms


def test_contract_actions_report_refusals(deal_a, org_a, admin_a):
    client = _admin(admin_a)
    contract = deal_a["contract"]
    changelist = reverse("admin:crm_contract_changelist")
    refused = client.post(
        changelist, {"action": "sign", "_selected_action": [str(contract.pk)]}, follow=True
    )
    assert b"Who signed the contract?" in refused.content
    with tenant_context(org_a):
        Contract.objects.filter(pk=contract.pk).update(signer_name="Dana Drip")
    client.post(changelist, {"action": "sign", "_selected_action": [str(contract.pk)]})
    with tenant_context(org_a):
        assert Contract.objects.get(pk=contract.pk).status == ContractStatus.SIGNED
        assert Opportunity.objects.get(pk=deal_a["opportunity"].pk).status == "won"


def test_webhook_secret_page_shows_a_new_secret_once(org_a, admin_a):
    client = _admin(admin_a)
    url = reverse("admin:crm_campaign_webhook_secret")
    shown = client.post(url)
    assert shown.status_code == 200 and b"whsec_" in shown.content
    assert b"whsec_" not in client.get(url).content
    with tenant_context(org_a):
        assert AICallWebhookSecret.objects.count() == 1


def test_campaign_launch_action_reports_a_missing_secret(org_a, admin_a, provider_url):
    campaign = factories.campaign(org_a)
    client = _admin(admin_a)
    changelist = reverse("admin:crm_campaign_changelist")
    response = client.post(
        changelist, {"action": "launch", "_selected_action": [str(campaign.pk)]}, follow=True
    )
    assert b"webhook secret" in response.content


@pytest.mark.parametrize("status", [CampaignStatus.COMPLETED, CampaignStatus.CANCELLED])
def test_a_finished_campaigns_page_is_read_only(org_a, admin_a, manager_a, status):
    draft = factories.campaign(org_a, name="Still a draft")
    finished = factories.campaign(org_a, name="Spring calls")
    with tenant_context(org_a):
        Campaign.objects.filter(pk=finished.pk).update(status=status)
    for user in (admin_a, manager_a):
        client = _admin(user)
        page = client.get(reverse("admin:crm_campaign_change", args=[finished.pk]))
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert not page.context_data["has_change_permission"]
        editable = client.get(reverse("admin:crm_campaign_change", args=[draft.pk]))
        assert 'name="_save"' in editable.content.decode()


def test_a_campaigns_results_count_only_the_calls_the_user_may_see(org_a, admin_a, rep_a, rep_a2):
    """A campaign is read by the whole organization, its calls by their leads' owners: a
    rep's campaign page counts their own calls, as the API's statistics do, and nothing of
    a colleague's (how many were called, what they answered)."""
    campaign = factories.campaign(org_a)
    factories.ai_call(
        org_a, for_lead=factories.lead(org_a, assigned_to=rep_a), in_campaign=campaign
    )
    for _ in range(2):
        theirs = factories.ai_call(
            org_a, for_lead=factories.lead(org_a, assigned_to=rep_a2), in_campaign=campaign
        )
        with tenant_context(org_a):
            AICall.objects.filter(pk=theirs.pk).update(
                status=AICallStatus.COMPLETED, outcome=CallOutcome.CALLBACK
            )
    page = reverse("admin:crm_campaign_change", args=[campaign.pk])

    assert _results(_admin(admin_a).get(page)) == "completed: 2, in_progress: 1, callback: 2"
    assert _results(_admin(rep_a).get(page)) == "in_progress: 1"


def _results(page) -> str:
    """The campaign page's Results, as shown."""
    shown = re.search(r'field-results.*?class="readonly">(.*?)</div>', page.content.decode(), re.S)
    return shown[1].strip()


def _name(user) -> str:
    """A person as the filters offer them: by name (their email when they have none)."""
    return user.get_full_name()


def _filter_choices(client, page: str, title: str) -> set[str]:
    listed = client.get(reverse(f"admin:{page}"))
    assert listed.status_code == 200
    [spec] = [spec for spec in listed.context["cl"].filter_specs if spec.title == title]
    return {label for _, label in spec.lookup_choices}


@pytest.mark.parametrize(
    ("page", "title"),
    [("crm_opportunity_changelist", "owner"), ("crm_task_changelist", "assigned to")],
)
def test_the_owner_filters_offer_the_members_whose_rows_one_may_read(
    page, title, org_a, admin_a, manager_a, rep_a, rep_a2, admin_b
):
    """From the memberships, within the reader's scope: the organization's members for
    its admin (a member who owns nothing yet among them), the team for its manager, the
    rep alone; never a user of another organization."""
    everyone = {_name(user) for user in (admin_a, manager_a, rep_a, rep_a2)}
    assert everyone <= _filter_choices(_admin(admin_a), page, title)
    assert _name(admin_b) not in _filter_choices(_admin(admin_a), page, title)
    assert _filter_choices(_admin(manager_a), page, title) == {_name(manager_a), _name(rep_a)}
    assert _filter_choices(_admin(rep_a), page, title) == {_name(rep_a)}


def _offers_no_owner(client, page: str, title: str) -> bool:
    listed = client.get(reverse(f"admin:{page}"))
    [spec] = [spec for spec in listed.context["cl"].filter_specs if spec.title == title]
    return spec.include_empty_choice


@pytest.mark.parametrize(
    ("page", "title"),
    [("crm_opportunity_changelist", "owner"), ("crm_task_changelist", "assigned to")],
)
def test_no_owner_is_offered_only_to_whoever_reads_every_row(
    page, title, admin_a, manager_a, rep_a
):
    """A row owned by no one is in no team's and no one's own scope: "-" would open an
    empty list to a manager or a rep, as "Unassigned" on the lead list."""
    assert _offers_no_owner(_admin(admin_a), page, title)
    assert not _offers_no_owner(_admin(manager_a), page, title)
    assert not _offers_no_owner(_admin(rep_a), page, title)
    field = "owner" if title == "owner" else "assigned_to"
    page_html = _admin(rep_a).get(reverse(f"admin:{page}")).content.decode()
    assert f"{field}__isnull=True" not in page_html


def test_former_members_stay_in_the_owner_filter_for_those_who_read_every_row(
    org_a, org_b, opp_a2, admin_a, admin_b, manager_a, rep_a, rep_a2
):
    """A rep who left keeps their deals until someone reassigns them: whoever reads every
    member's rows finds them by the former member's name; a team's and one's own rows
    are active members' only, so nothing changes for the manager and the rep. Another
    organization's former members are never offered."""
    elsewhere = make_member(org_b, "sales_rep")
    for organization, admin, leaving in ((org_a, admin_a, rep_a2), (org_b, admin_b, elsewhere)):
        with tenant_context(organization):
            membership = Membership.objects.get(user=leaving)
        with acting_as(admin, organization):
            account_services.membership_delete(membership=membership, acting_user=admin)
    page, title = "crm_opportunity_changelist", "owner"
    former = f"{_name(rep_a2)} (former member)"
    assert former in _filter_choices(_admin(admin_a), page, title)
    assert _name(rep_a2) not in _filter_choices(_admin(admin_a), page, title)
    assert not {_name(elsewhere), f"{_name(elsewhere)} (former member)"} & _filter_choices(
        _admin(admin_a), page, title
    )
    assert _filter_choices(_admin(manager_a), page, title) == {_name(manager_a), _name(rep_a)}
    narrowed = _admin(admin_a).get(reverse(f"admin:{page}"), {"owner__id__exact": rep_a2.pk})
    assert [row.pk for row in narrowed.context["cl"].result_list] == [opp_a2.pk]


def test_the_owner_filter_narrows_the_list(opp_a, opp_a2, admin_a, rep_a2):
    client = _admin(admin_a)
    url = reverse("admin:crm_opportunity_changelist")
    narrowed = client.get(url, {"owner__id__exact": rep_a2.pk})
    assert narrowed.status_code == 200
    assert [row.pk for row in narrowed.context["cl"].result_list] == [opp_a2.pk]
