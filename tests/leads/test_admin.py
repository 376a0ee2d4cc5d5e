"""The back office of leads: scoped lists, 404 across organizations, forms, actions."""

import pytest
from django.urls import reverse

from accounts.models import AuditLog
from leads import selectors
from leads.models import Interaction, Lead, LeadTag, Tag
from smartweb import access
from smartweb.rbac import Action
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import InteractionFactory, TagFactory, acting_as, make_lead

pytestmark = pytest.mark.django_db

MODELS = ["company", "lead", "interaction", "tag", "leadenrichment"]
# The lead form's inlines (tags, timeline, enrichments), none of them changed here.
INLINE_MANAGEMENT = {
    f"{prefix}-{name}": "0"
    for prefix in ("lead_tags", "interactions", "enrichments")
    for name in ("TOTAL_FORMS", "INITIAL_FORMS")
}


@pytest.fixture
def rows_a(lead_a, interaction_a, tag_a, enrichment_a):
    return {
        "company": lead_a.company,
        "lead": lead_a,
        "interaction": interaction_a,
        "tag": tag_a,
        "leadenrichment": enrichment_a,
    }


def _login(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_another_organizations_rows_are_404_and_absent_from_lists(
    client, model, rows_a, admin_b, lead_b
):
    _login(client, admin_b)
    obj = rows_a[model]
    changelist = client.get(reverse(f"admin:leads_{model}_changelist") + "?state=all")
    assert changelist.status_code == 200
    assert str(obj.pk) not in changelist.content.decode()
    for view in ("change", "history", "delete"):
        response = client.get(reverse(f"admin:leads_{model}_{view}", args=[obj.pk]))
        assert response.status_code == 404, view


@pytest.mark.parametrize("model", MODELS)
def test_own_organizations_rows_are_listed_and_open(client, model, rows_a, admin_a):
    _login(client, admin_a)
    obj = rows_a[model]
    changelist = client.get(reverse(f"admin:leads_{model}_changelist"))
    assert changelist.status_code == 200
    assert reverse(f"admin:leads_{model}_change", args=[obj.pk]) in changelist.content.decode()
    assert client.get(reverse(f"admin:leads_{model}_change", args=[obj.pk])).status_code == 200
    assert client.get(reverse(f"admin:leads_{model}_history", args=[obj.pk])).status_code == 200


def test_a_rep_lists_only_own_leads(client, rep_a, lead_a, lead_a2):
    _login(client, rep_a)
    body = client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert str(lead_a.pk) in body and str(lead_a2.pk) not in body
    assert client.get(reverse("admin:leads_lead_change", args=[lead_a2.pk])).status_code == 404


def test_lead_page_shows_timeline_breakdown_and_tags(client, org_a, admin_a, lead_a, tag_a):
    InteractionFactory(organization=org_a, lead=lead_a, subject="First call about a website")
    _login(client, admin_a)
    body = client.get(reverse("admin:leads_lead_change", args=[lead_a.pk])).content.decode()
    assert "First call about a website" in body
    assert "<th>factor</th>" in body and "Trade: plumber" in body
    assert "leadtag_set" in body or "lead_tags" in body


def test_dropdowns_and_filters_offer_only_this_organization(
    client, org_a, admin_a, admin_b, lead_a, lead_b
):
    _login(client, admin_a)
    add = client.get(reverse("admin:leads_lead_add")).content.decode()
    assert admin_a.email in add and admin_b.email not in add
    changelist = client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert admin_b.email not in changelist
    search = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "leads", "model_name": "lead", "field_name": "company", "term": "o"},
    ).json()
    names = {row["text"] for row in search["results"]}
    assert "Drip Drop Plumbing" in names and "Bravo Roofing" not in names


def test_edit_through_the_form_goes_through_the_services(client, org_a, admin_a, lead_a):
    _login(client, admin_a)
    url = reverse("admin:leads_lead_change", args=[lead_a.pk])
    form = {
        "source": "referral",
        "assigned_to": str(lead_a.assigned_to_id),
        "contact_name": "Dana Drip",
        "contact_title": "",
        "contact_email": "dana@drip.test",
        "contact_phone": "07700 900123",
        "score_override": "",
        "next_follow_up_at_0": "",
        "next_follow_up_at_1": "",
        "consent_to_contact": "on",
        "notes": "",
        **INLINE_MANAGEMENT,
    }
    response = client.post(url, form)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors,
        [f.formset.errors for f in response.context["inline_admin_formsets"]],
        [f.formset.non_form_errors() for f in response.context["inline_admin_formsets"]],
    )
    with tenant_context(org_a):
        lead = Lead.objects.get(pk=lead_a.pk)
    assert lead.contact_phone_normalized == "+447700900123"
    assert lead.consent_updated_at is not None and lead.source == "referral"
    bad = client.post(url, {**form, "contact_phone": "nope"})
    assert bad.status_code == 200 and "phone number" in bad.content.decode()


def test_bulk_actions_change_only_permitted_leads(client, org_a, manager_a, rep_a, lead_a, lead_a2):
    tag = TagFactory(organization=org_a, name="spring")
    _login(client, manager_a)
    url = reverse("admin:leads_lead_changelist")
    selected = [str(lead_a.pk), str(lead_a2.pk)]
    first = client.post(url, {"action": "tag_selected", "_selected_action": selected})
    assert first.status_code == 200 and "Apply" in first.content.decode()
    client.post(
        url,
        {"action": "tag_selected", "_selected_action": selected, "apply": "1", "tag": tag.pk},
    )
    client.post(
        url,
        {
            "action": "change_status_selected",
            "_selected_action": selected,
            "apply": "1",
            "status": "contacted",
            "reason": "",
        },
    )
    with tenant_context(org_a):
        assert list(LeadTag.objects.values_list("lead_id", flat=True)) == [lead_a.pk]
        assert Lead.objects.get(pk=lead_a.pk).status == "contacted"
        assert Lead.objects.get(pk=lead_a2.pk).status == "new"
        assert Interaction.objects.filter(lead=lead_a, type="note").count() == 1


def test_invalid_bulk_status_change_is_reported(client, org_a, admin_a, lead_a):
    _login(client, admin_a)
    response = client.post(
        reverse("admin:leads_lead_changelist"),
        {
            "action": "change_status_selected",
            "_selected_action": [str(lead_a.pk)],
            "apply": "1",
            "status": "converted",
            "reason": "",
        },
        follow=True,
    )
    assert "cannot go from" in response.content.decode()


def test_bulk_assign_and_export(client, org_a, admin_a, rep_a2, lead_a, lead_b):
    _login(client, admin_a)
    url = reverse("admin:leads_lead_changelist")
    client.post(
        url,
        {
            "action": "assign_selected",
            "_selected_action": [str(lead_a.pk)],
            "apply": "1",
            "assigned_to": str(rep_a2.pk),
        },
    )
    with tenant_context(org_a):
        assert Lead.objects.get(pk=lead_a.pk).assigned_to == rep_a2
    export = client.post(url, {"action": "export_csv", "_selected_action": [str(lead_a.pk)]})
    assert export["Content-Type"].startswith("text/csv")
    assert "Drip Drop Plumbing" in export.content.decode()
    with tenant_context(org_a):
        assert AuditLog.objects.filter(action="data.export").exists()


def test_soft_deleted_leads_are_listed_under_deleted_and_restorable(client, org_a, admin_a, lead_a):
    _login(client, admin_a)
    delete_url = reverse("admin:leads_lead_delete", args=[lead_a.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    url = reverse("admin:leads_lead_changelist")
    assert str(lead_a.pk) not in client.get(url).content.decode()
    assert str(lead_a.pk) in client.get(url + "?state=deleted").content.decode()
    client.post(
        url + "?state=deleted",
        {"action": "restore_selected", "_selected_action": [str(lead_a.pk)]},
    )
    with tenant_context(org_a):
        assert not Lead.all_objects.get(pk=lead_a.pk).is_deleted


def test_a_rep_cannot_rename_tags(client, rep_a, tag_a):
    _login(client, rep_a)
    url = reverse("admin:leads_tag_change", args=[tag_a.pk])
    response = client.post(url, {"name": "renamed", "color": "#000000", "description": ""})
    assert response.status_code == 403


def test_add_lead_refuses_a_duplicate_unless_allowed(client, org_a, admin_a, lead_a):
    other = make_lead(org_a, company={"name": "Drip Drop again", "phone": "01632 960555"})
    with tenant_context(org_a):
        from leads.models import Company

        lone = Company.objects.create(
            name="Lone", phone="01632 960001", phone_normalized="+441632960001"
        )
    _login(client, admin_a)
    form = {
        "company": str(lone.pk),
        "source": "manual",
        "assigned_to": "",
        "contact_name": "",
        "contact_title": "",
        "contact_email": "",
        "contact_phone": "",
        "score_override": "",
        "next_follow_up_at_0": "",
        "next_follow_up_at_1": "",
        "notes": "",
        **INLINE_MANAGEMENT,
    }
    url = reverse("admin:leads_lead_add")
    refused = client.post(url, form)
    assert refused.status_code == 200 and "Possible duplicate" in refused.content.decode()
    allowed = client.post(url, {**form, "allow_duplicate": "on"})
    assert allowed.status_code == 302
    with tenant_context(org_a):
        assert Lead.objects.filter(company=lone).exists()
        assert Lead.objects.count() == 3
    assert other


def test_the_tag_filter_offers_the_organizations_tags_and_narrows_the_list(
    client, org_a, rep_a, lead_a, lead_a2, tag_a, tag_b
):
    """Every live tag of the organization, one on no lead yet among them; none of
    another organization's. Choosing one lists the rep's leads that carry it."""
    unused = TagFactory(organization=org_a, name="unused")
    with tenant_context(org_a):
        LeadTag.objects.create(lead=lead_a, tag=tag_a)
    _login(client, rep_a)
    url = reverse("admin:leads_lead_changelist")
    listed = client.get(url)
    [spec] = [spec for spec in listed.context["cl"].filter_specs if spec.title == "tags"]
    assert {label for _, label in spec.lookup_choices} == {tag_a.name, unused.name}
    narrowed = client.get(url, {"tags__id__exact": tag_a.pk})
    assert [lead.pk for lead in narrowed.context["cl"].result_list] == [lead_a.pk]
    assert list(client.get(url, {"tags__id__exact": unused.pk}).context["cl"].result_list) == []


def test_a_filtered_lead_list_counts_the_organizations_leads_once(client, admin_a, lead_a):
    """Its matching rows for the paginator; not also every row of the organization, the
    deleted ones included, for a "(N total)" beside the search box."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _login(client, admin_a)
    with CaptureQueriesContext(connection) as captured:
        listed = client.get(reverse("admin:leads_lead_changelist"), {"status__exact": "new"})
    assert listed.status_code == 200 and listed.context["cl"].result_count == 1
    counts = [q["sql"] for q in captured if q["sql"].startswith('SELECT COUNT(*) AS "__count"')]
    lead_counts = [sql for sql in counts if 'FROM "leads_lead"' in sql]
    assert len(lead_counts) == 1 and '"status" = ' in lead_counts[0]


def test_the_lead_list_shows_each_leads_tags(client, org_a, admin_a, lead_a, lead_a2, tag_a):
    second = TagFactory(organization=org_a, name="boiler")
    with tenant_context(org_a):
        LeadTag.objects.create(lead=lead_a, tag=tag_a)
        LeadTag.objects.create(lead=lead_a, tag=second)
    _login(client, admin_a)
    listed = client.get(reverse("admin:leads_lead_changelist"))
    shown = {str(row.pk): row.tags_listed for row in listed.context["cl"].result_list}
    assert [tag.name for tag in shown[str(lead_a.pk)]] == ["boiler", "hot"]
    assert shown[str(lead_a2.pk)] == []
    assert "boiler, hot" in listed.content.decode()


def test_a_rep_cannot_take_a_company_out_of_scope_through_the_add_lead_form(
    client, org_a, manager_a, rep_a
):
    """The company autocomplete and the posted company are the rep's readable ones: a
    manager's company without a lead is neither offered nor accepted (the form error of
    a company that does not exist, as the service words it), and nothing tells it has no
    lead."""
    from leads import services
    from leads.models import Company
    from tests.leads.factories import acting_as

    with acting_as(org_a, manager_a):
        company = services.company_create(acting_user=manager_a, data={"name": "Manager's Co"})
    _login(client, rep_a)
    url = reverse("admin:leads_lead_add")
    prefilled = client.get(f"{url}?company={company.pk}").content.decode()
    # The page's own address (the organization switcher's form) repeats the query.
    prefilled = prefilled.replace(f"company={company.pk}", "")
    assert "Manager&#x27;s Co" not in prefilled
    assert str(company.pk) not in prefilled
    form = {
        "company": str(company.pk),
        "allow_duplicate": "on",
        "source": "manual",
        "assigned_to": str(rep_a.pk),
        "contact_name": "Dana",
        "contact_title": "",
        "contact_email": "dana@example.test",
        "contact_phone": "",
        "score_override": "",
        "next_follow_up_at_0": "",
        "next_follow_up_at_1": "",
        "notes": "",
        **INLINE_MANAGEMENT,
    }
    refused = client.post(url, form)
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Unknown company." in page and "already has a lead" not in page
    with tenant_context(org_a):
        assert not Lead.all_objects.exists()
        assert Company.objects.get(pk=company.pk).created_by == manager_a
    # Their own company, recorded before its lead, is theirs to give a lead.
    with acting_as(org_a, rep_a):
        own = services.company_create(acting_user=rep_a, data={"name": "Rep's Co"})
    assert client.post(url, {**form, "company": str(own.pk)}).status_code == 302
    with tenant_context(org_a):
        assert Lead.objects.get().company_id == own.pk


def _tag_counts(client, user) -> tuple[dict[str, int], int]:
    """The tag list's "leads" column as `user` sees it, and the queries it took."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _login(client, user)
    with CaptureQueriesContext(connection) as captured:
        listed = client.get(reverse("admin:leads_tag_changelist"))
    assert listed.status_code == 200
    return {tag.name: tag.active_leads for tag in listed.context["cl"].result_list}, len(captured)


def test_the_tag_list_counts_only_the_leads_one_may_read(
    client, org_a, admin_a, manager_a, rep_a, rep_a2, lead_a, lead_a2, tag_a
):
    """A rep counts their own leads, a manager their team's, the admin every lead outside
    the trash: the organization's count told them about leads they may not see. One
    query for the counts, however many tags."""
    own = make_lead(org_a, contact_name="Second of rep_a", assigned_to=rep_a)
    trashed = make_lead(org_a, contact_name="Trashed", assigned_to=rep_a)
    nobody = make_lead(org_a, contact_name="Nobody's")
    with tenant_context(org_a):
        for lead in (lead_a, lead_a2, own, trashed, nobody):
            LeadTag.objects.create(lead=lead, tag=tag_a)
        Lead.objects.filter(pk=trashed.pk).update(deleted_at=lead_a.created_at)
    assert _tag_counts(client, admin_a)[0] == {"hot": 4}
    assert _tag_counts(client, manager_a)[0] == {"hot": 2}
    assert _tag_counts(client, rep_a2)[0] == {"hot": 1}
    counts, queries = _tag_counts(client, rep_a)
    assert counts == {"hot": 2}
    for name in ("cold", "warm"):
        TagFactory(organization=org_a, name=name)
    more, more_queries = _tag_counts(client, rep_a)
    assert more == {"hot": 2, "cold": 0, "warm": 0}
    assert more_queries == queries


def test_the_tag_list_counts_as_many_leads_as_one_may_read_of_each_tag(
    client, org_a, org_b, admin_a, manager_a, rep_a, rep_a2, tag_b
):
    """The admin's counts (the tag's links less its trashed leads') and everyone else's are
    the leads each may read that carry the tag, outside the trash; a deleted tag keeps its
    count; another organization's links count for none of them."""
    tags = [TagFactory(organization=org_a, name=name) for name in ("hot", "cold", "unused")]
    for n in range(12):
        owner = [rep_a, rep_a2, manager_a, None][n % 4]
        lead = make_lead(org_a, contact_name=f"Lead {n}", assigned_to=owner)
        with tenant_context(org_a):
            for tag in tags[: 1 + n % 2]:
                LeadTag.objects.create(lead=lead, tag=tag)
            if n % 5 == 0:
                Lead.objects.filter(pk=lead.pk).update(deleted_at=lead.created_at)
    with tenant_context(org_a):
        Tag.objects.filter(pk=tags[1].pk).update(deleted_at=tags[1].created_at)
    other = make_lead(org_b, contact_name="Elsewhere")
    with tenant_context(org_b):
        LeadTag.objects.create(lead=other, tag=tag_b)
    for user in (admin_a, manager_a, rep_a, rep_a2):
        with acting_as(org_a, user):
            counted = {
                tag.name: tag.active_leads
                for tag in selectors.with_readable_lead_counts(Tag.all_objects.all(), user)
            }
            readable = access.visible(user, Action.READ, Lead.objects.all())
            expected = {tag.name: readable.filter(tags=tag).count() for tag in tags}
        assert counted == expected, user.email
    assert expected["hot"] > 0
    for user in (admin_a, rep_a):
        _login(client, user)
        listed = client.get(reverse("admin:leads_tag_changelist"), {"state": "all", "o": "4"})
        assert {"hot", "cold", "unused"} <= {tag.name for tag in listed.context["cl"].result_list}
