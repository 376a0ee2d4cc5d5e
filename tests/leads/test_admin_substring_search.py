"""The back office's search finds a substring of any searched field, in any case, through
the organization-scoped functions (ADR 0056): each word of the text in one field, never
across two, never a field the list does not search, never another organization's row
or one outside the user's scope."""

import pytest
from django.urls import reverse

from crm.models import AICall
from leads.models import Interaction
from leads.services import interaction_log
from smartweb.tenancy.context import tenant_context
from tests.crm.factories import ai_call
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db

LEADS = reverse("admin:leads_lead_changelist")
COMPANIES = reverse("admin:leads_company_changelist")
INTERACTIONS = reverse("admin:leads_interaction_changelist")
AI_CALLS = reverse("admin:crm_aicall_changelist")

COMPANY = {
    "name": "Quillfeather Joinery",
    "city": "Thornbury",
    "postal_code": "BS35 2XU",
    "phone": "01454 418 723",
    "email": "office@quillfeather.test",
    "website": "https://www.quillfeather-joinery.test",
}


@pytest.fixture
def quill(org_a, org_b):
    """A lead of the first organization, its twin in the second, and a neighbour."""
    make_lead(org_a, company={"name": "Hollowell Roofing"}, contact_name="Pat Hollowell")
    for org in (org_b, org_a):
        lead = make_lead(
            org,
            company=COMPANY,
            contact_name="Morwenna Tregothnan",
            contact_email="morwenna@tregothnan-mail.test",
            contact_phone="07700 900461",
            notes="Prefers a callback on Tuesdays",
        )
    return lead


def _html(client, user, url, term) -> str:
    client.force_login(user)
    response = client.get(url, {"q": term})
    assert response.status_code == 200
    return response.content.decode()


def _lead_change(lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


def _company_change(lead) -> str:
    return reverse("admin:leads_company_change", args=[lead.company_id])


@pytest.mark.parametrize(
    "term",
    [
        "wenna",  # the contact's name, inside a word
        "TREGOTH",  # any case
        "nan-mail",  # the contact's email
        "00 9004",  # the contact's phone as typed
        "featHER JOIN",  # the company's name, a quoted phrase below
        "418 72",  # the company's phone
        "office@quill",  # the company's email
        "quillfeather-joinery",  # the company's web domain
    ],
)
def test_a_lead_is_found_by_a_substring_of_each_searched_field(client, admin_a, quill, term):
    html = _html(client, admin_a, LEADS, f'"{term}"')
    assert _lead_change(quill) in html
    assert "Hollowell" not in html


@pytest.mark.parametrize(
    "term",
    [
        "Thornbury",  # the company's city: the lead list does not search it
        "BS35",  # nor its postal code
        "Tuesdays",  # nor the lead's notes
        "Tregothnan morwenna@",  # across the contact's name and email
        "Joinery office",  # across the company's name and email
    ],
)
def test_a_lead_is_not_found_by_a_field_it_does_not_search_or_across_two(
    client, admin_a, quill, term
):
    assert _lead_change(quill) not in _html(client, admin_a, LEADS, f'"{term}"')


def test_every_word_must_be_found_each_in_some_field(client, admin_a, quill):
    assert _lead_change(quill) in _html(client, admin_a, LEADS, "wenna quillfeather 01454")
    assert _lead_change(quill) not in _html(client, admin_a, LEADS, "wenna hollowell")


def test_wildcards_are_plain_characters(client, admin_a, quill):
    for term in ("%", "Morw_nna", "Tre%than"):
        assert _lead_change(quill) not in _html(client, admin_a, LEADS, term)


def test_a_word_under_three_characters_is_a_substring_too(client, admin_a, org_a):
    al = make_lead(org_a, company={"name": "Harbour Glaziers"}, contact_name="Al Penrose")
    alan = make_lead(org_a, company={"name": "Quay Glaziers"}, contact_name="Alan Penrose")
    kit = make_lead(org_a, company={"name": "Quay Joiners"}, contact_name="Kit Penrose")
    for term in ("Al", "l"):
        html = _html(client, admin_a, LEADS, term)
        assert _lead_change(al) in html and _lead_change(alan) in html
        assert _lead_change(kit) not in html


@pytest.mark.parametrize(
    "term", ["ther join", "thornbu", "bs35 2", "418 723", "OFFICE@", "r-joinery.te"]
)
def test_a_company_is_found_by_a_substring_of_each_searched_field(client, admin_a, quill, term):
    html = _html(client, admin_a, COMPANIES, f'"{term}"')
    assert _company_change(quill) in html
    assert "Hollowell" not in html


def test_another_organization_s_twin_is_never_found(client, admin_b, quill):
    searches = (
        (LEADS, _lead_change, "Tregothnan quillfeather"),
        (COMPANIES, _company_change, "quillfeather thornbury"),
    )
    for url, change, term in searches:
        html = _html(client, admin_b, url, term)
        assert change(quill) not in html
        assert "Quillfeather Joinery" in html  # their own


def test_a_rep_finds_only_the_leads_they_may_read(client, org_a, rep_a, quill):
    theirs = make_lead(
        org_a, company={"name": "Tregothnan Tiling"}, contact_name="Jory", assigned_to=rep_a
    )
    html = _html(client, rep_a, LEADS, "tregothnan")
    assert _lead_change(theirs) in html
    assert _lead_change(quill) not in html


def test_the_lead_chooser_finds_a_substring(client, admin_a, quill):
    client.force_login(admin_a)
    params = {
        "term": "wenna",
        "app_label": "leads",
        "model_name": "interaction",
        "field_name": "lead",
    }
    found = client.get(reverse("admin:autocomplete"), params).json()["results"]
    assert [row["id"] for row in found] == [str(quill.pk)]


def _logged(organization, lead, subject, content="") -> Interaction:
    with tenant_context(organization):
        return interaction_log(
            lead=lead,
            acting_user=None,
            data={"type": "note", "subject": subject, "content": content},
        )


def _interaction_change(interaction) -> str:
    return reverse("admin:leads_interaction_change", args=[interaction.pk])


def test_an_interaction_is_found_by_its_words_or_its_lead(client, org_a, admin_a, quill):
    neighbour = make_lead(org_a, company={"name": "Penhallow Glass"}, contact_name="Kit Penhallow")
    theirs = _logged(org_a, quill, "Site visit", "Measured the staircase")
    other = _logged(org_a, neighbour, "Quote sent", "Staircase quote by email")
    by_word = _html(client, admin_a, INTERACTIONS, "staircase")
    assert _interaction_change(theirs) in by_word and _interaction_change(other) in by_word
    by_lead = _html(client, admin_a, INTERACTIONS, "quillfeather")
    assert _interaction_change(theirs) in by_lead
    assert _interaction_change(other) not in by_lead
    both = _html(client, admin_a, INTERACTIONS, "staircase wenna")
    assert _interaction_change(theirs) in both and _interaction_change(other) not in both


def test_an_ai_call_is_found_by_its_id_its_summary_or_its_lead(client, org_a, admin_a, quill):
    call = ai_call(org_a, for_lead=quill, provider_call_id="prov-77KX31")
    other = ai_call(org_a, provider_call_id="prov-99ZZ00")
    with tenant_context(org_a):
        AICall.objects.filter(pk=other.pk).update(summary="Asked about sash windows")

    def found(term):
        html = _html(client, admin_a, AI_CALLS, term)
        change = reverse("admin:crm_aicall_change", args=[call.pk])
        other_change = reverse("admin:crm_aicall_change", args=[other.pk])
        return (change in html, other_change in html)

    assert found("77kx") == (True, False)
    assert found("sash win") == (False, True)
    assert found("Quillfeather") == (True, False)
