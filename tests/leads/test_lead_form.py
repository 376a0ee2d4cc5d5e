"""Lead-capture forms: a public submission becomes (or updates) a lead, with consent,
assignment in turn, and the guards of a public endpoint; the forms' management API."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from compliance.choices import ConsentPurpose, ConsentSource
from compliance.models import ConsentRecord
from compliance.suppression import suppress
from leads import lead_forms
from leads.choices import LeadSource
from leads.models import Company, Interaction, Lead, LeadForm
from smartweb.models import RateWindow
from smartweb.tenancy.context import tenant_context
from tests import factories

pytestmark = pytest.mark.django_db

CONSENT = "I agree to be contacted about a new website."


@pytest.fixture(autouse=True)
def generous_limits(settings):
    """Limits out of the way except where a test sets them; an hour-long window."""
    settings.LEAD_FORM_ADDRESS_LIMIT = 1000
    settings.LEAD_FORM_KEY_LIMIT = 1000
    settings.LEAD_FORM_RATE_WINDOW_SECONDS = 3600


def make_form(organization, **data) -> LeadForm:
    data = {
        "name": "Website enquiry",
        "consent_text": CONSENT,
        "consent_purposes": [ConsentPurpose.CONTACT],
        "required_fields": ["contact_email"],
        **data,
    }
    with tenant_context(organization):
        return lead_forms.lead_form_create(acting_user=None, data=data)


def submit(form_or_key, data=None, *, client=None, **extra):
    key = getattr(form_or_key, "public_key", form_or_key)
    body = {
        "contact_name": "Pat Pipe",
        "contact_email": "pat@pipes.example",
        "company_name": "Pat's Pipes",
        "consent": True,
        **(data or {}),
    }
    return (client or APIClient()).post(
        f"/api/v1/forms/{key}/submit/", body, format="json", **extra
    )


def rows(organization, model=Lead):
    with tenant_context(organization):
        return list(model.objects.all())


@pytest.fixture
def form_a(org_a):
    return make_form(org_a)


def test_a_submission_creates_a_lead_and_company_from_the_web_form_with_consent(
    org_a, form_a, rep_a
):
    response = submit(form_a, {"message": "Need a site", "page_url": "https://acme.test/x"})
    assert response.status_code == 201, response.content
    assert response.json() == {"message": form_a.success_message, "redirect_url": ""}
    with tenant_context(org_a):
        lead = Lead.objects.select_related("company").get()
        assert (lead.source, lead.contact_email, lead.company.name) == (
            LeadSource.WEB_FORM,
            "pat@pipes.example",
            "Pat's Pipes",
        )
        assert lead.assigned_to == rep_a
        assert lead.consent_to_contact is True
        consent = ConsentRecord.objects.get(lead=lead)
        assert (consent.purpose, consent.granted, consent.source) == (
            ConsentPurpose.CONTACT,
            True,
            ConsentSource.WEB_FORM,
        )
        assert consent.evidence["text"] == CONSENT
        assert consent.evidence["form_url"] == "https://acme.test/x"
        note = Interaction.objects.get(lead=lead)
        assert "Need a site" in note.content
        assert lead.scored_at is not None


def test_a_known_person_updates_their_lead_instead_of_doubling_it(org_a, form_a, lead_a):
    with tenant_context(org_a):
        phone = Lead.objects.get(pk=lead_a.pk).company.phone
    assert submit(form_a, {"contact_phone": phone, "city": "Leeds"}).status_code == 201
    assert submit(form_a, {"contact_phone": phone}).status_code == 201
    with tenant_context(org_a):
        lead = Lead.objects.select_related("company").get()
        assert lead.pk == lead_a.pk
        # Blanks filled; what the lead had stays (the source and its owner too).
        assert lead.contact_name == "Dana Drip"
        assert lead.contact_email == "pat@pipes.example"
        assert lead.company.city == "Leeds"
        assert lead.source != LeadSource.WEB_FORM
        assert Interaction.objects.filter(lead=lead).count() == 2
        assert Company.objects.count() == 1


def test_new_leads_go_to_the_reps_in_turn(org_a, form_a, rep_a, rep_a2, admin_a):
    for n in range(5):
        assert submit(form_a, {"contact_email": f"p{n}@x.example"}).status_code == 201
    with tenant_context(org_a):
        owners = list(Lead.objects.order_by("created_at").values_list("assigned_to", flat=True))
    assert owners == [rep_a.pk, rep_a2.pk, rep_a.pk, rep_a2.pk, rep_a.pk]


def test_the_honeypot_answers_success_and_stores_nothing(org_a, form_a):
    response = submit(form_a, {"homepage": "http://spam.example"})
    assert response.status_code == 201
    assert response.json()["message"] == form_a.success_message
    assert rows(org_a) == [] and rows(org_a, Company) == []


def test_a_suppressed_address_is_accepted_silently_and_stored_nowhere(org_a, form_a):
    with tenant_context(org_a):
        suppress(emails=["pat@pipes.example"])
    response = submit(form_a, {"contact_email": "PAT@pipes.example"})
    assert response.status_code == 201
    assert rows(org_a) == [] and rows(org_a, Company) == []
    assert rows(org_a, ConsentRecord) == [] and rows(org_a, Interaction) == []


def test_a_malformed_email_is_a_field_error_and_writes_nothing(org_a, form_a, rep_a):
    response = submit(form_a, {"contact_email": "not-an-email"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "contact_email" in error["details"]
    assert rows(org_a) == [] and rows(org_a, Company) == []
    with tenant_context(org_a):
        # The round robin did not move for a refused submission.
        assert LeadForm.objects.get().last_assigned_to is None


def test_required_fields_and_a_contact_are_checked(org_a):
    form = make_form(org_a, required_fields=["contact_name", "consent"])
    response = submit(form, {"contact_name": "", "contact_email": "", "consent": False})
    details = response.json()["error"]["details"]
    assert response.status_code == 400
    assert set(details) == {"contact_name", "consent", "contact_email"}
    assert rows(org_a) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("consent", "yes"),
        ("consent", "on"),
        ("consent", "t"),
        ("consent", 1),
        ("contact_name", 12345),
    ],
)
def test_the_api_reads_values_as_its_schema_types_them(org_a, form_a, field, value):
    response = submit(form_a, {field: value})
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == [field]
    assert rows(org_a) == [] and rows(org_a, ConsentRecord) == []


def test_a_malformed_body_is_a_clear_400(form_a):
    response = APIClient().post(
        f"/api/v1/forms/{form_a.public_key}/submit/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["non_field_errors"]


def test_an_oversized_body_is_413(settings, org_a, form_a):
    settings.LEAD_FORM_MAX_BODY_BYTES = 2048
    response = submit(form_a, {"message": "x" * 3000})
    assert response.status_code == 413
    assert rows(org_a) == []


def test_an_unknown_inactive_or_deleted_key_is_the_same_404(org_a, form_a):
    inactive = make_form(org_a, name="Old", is_active=False)
    deleted = make_form(org_a, name="Gone")
    with tenant_context(org_a):
        lead_forms.lead_form_delete(form=deleted, acting_user=None)
    answers = [submit(key).json() for key in ("x" * 32, inactive, deleted)]
    assert [a["error"]["code"] for a in answers] == ["not_found"] * 3
    assert len({str(a) for a in answers}) == 1
    assert rows(org_a) == []


def test_a_form_submits_into_its_own_organization_only(org_a, org_b, form_a):
    form_b = make_form(org_b)
    assert submit(form_b).status_code == 201
    assert rows(org_a) == []
    assert [lead.source for lead in rows(org_b)] == [LeadSource.WEB_FORM]


def test_an_origin_the_form_does_not_allow_is_refused(org_a):
    form = make_form(org_a, allowed_origins=["https://Acme.test/"])
    assert form.allowed_origins == ["https://acme.test"]
    refused = submit(form, HTTP_ORIGIN="https://evil.test")
    assert refused.status_code == 403
    allowed = submit(form, HTTP_ORIGIN="https://acme.test")
    assert allowed.status_code == 201
    assert allowed["Access-Control-Allow-Origin"] == "https://acme.test"
    assert len(rows(org_a)) == 1


# --- rate limits ------------------------------------------------------------------------


def test_one_address_is_limited_across_forms_with_retry_after(settings, org_a, form_a):
    settings.LEAD_FORM_ADDRESS_LIMIT = 3
    other = make_form(org_a, name="Other")
    codes = [
        submit(form, {"contact_email": f"p{n}@x.example"}).status_code
        for n, form in enumerate([form_a, other, form_a, other])
    ]
    assert codes == [201, 201, 201, 429]
    refused = submit(form_a, REMOTE_ADDR="127.0.0.1")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    # Another address is not held back.
    assert (
        submit(form_a, {"contact_email": "q@x.example"}, REMOTE_ADDR="10.0.0.9").status_code == 201
    )
    assert len(rows(org_a)) == 4


def test_an_ipv6_client_is_limited_across_the_addresses_of_its_network(settings, org_a, form_a):
    """A client given a /64 may send from any of its addresses; another network and
    IPv4 clients seen through a dual-stack socket are each counted apart."""
    settings.LEAD_FORM_ADDRESS_LIMIT = 2
    codes = [
        submit(form_a, {"contact_email": f"p{n}@x.example"}, REMOTE_ADDR=address).status_code
        for n, address in enumerate(
            [
                "2001:db8:5:6::1",
                "2001:db8:5:6:a::2",
                "2001:db8:5:6:ffff:ffff:ffff:ffff",
                "2001:db8:5:7::1",
                "::ffff:192.0.2.1",
                "::ffff:192.0.2.2",
            ]
        )
    ]
    assert codes == [201, 201, 429, 201, 201, 201]
    assert len(rows(org_a)) == 5


def test_one_form_is_limited_across_addresses(settings, org_a, form_a):
    settings.LEAD_FORM_KEY_LIMIT = 2
    codes = [
        submit(form_a, {"contact_email": f"p{n}@x.example"}, REMOTE_ADDR=f"10.0.0.{n}").status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 429]
    assert len(rows(org_a)) == 2


def test_refused_submissions_count_too_and_the_table_keeps_no_address(settings, form_a):
    settings.LEAD_FORM_ADDRESS_LIMIT = 2
    assert submit(form_a, {"contact_email": "bad"}).status_code == 400
    assert submit("unknown-key").status_code == 404
    assert submit(form_a).status_code == 429
    buckets = list(RateWindow.objects.values_list("bucket", flat=True))
    assert buckets and not any("127.0.0.1" in bucket for bucket in buckets)


# --- concurrency (committed transactions, separate connections) --------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_take_turns_and_the_limit_holds(settings):
    settings.LEAD_FORM_KEY_LIMIT = 9
    organization = factories.make_organization("Busy Sites")
    reps = [factories.make_member(organization, "sales_rep") for _ in range(3)]
    form = make_form(organization)
    answers = []

    def post(n):
        try:
            answers.append(submit(form, {"contact_email": f"c{n}@x.example"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201] * 9 + [429] * 3
    with tenant_context(organization):
        owners = list(Lead.objects.values_list("assigned_to", flat=True))
    assert len(owners) == 9
    assert sorted(owners.count(rep.pk) for rep in reps) == [3, 3, 3]


# --- the form page ------------------------------------------------------------------------


def test_the_page_shows_a_standalone_form_that_submits(org_a, form_a):
    client = Client()
    page = client.get(f"/forms/{form_a.public_key}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="contact_email"' in html and CONSENT in html and "/static/admin" not in html
    assert "X-Frame-Options" not in page
    assert page["Content-Security-Policy"] == "frame-ancestors *"
    posted = client.post(
        f"/forms/{form_a.public_key}/",
        {"contact_email": "pat@pipes.example", "company_name": "Pat's Pipes", "consent": "true"},
    )
    assert posted.status_code == 200
    assert form_a.success_message in posted.content.decode()
    assert [lead.consent_to_contact for lead in rows(org_a)] == [True]


@pytest.mark.parametrize(("box", "consents"), [("on", 1), ("true", 1), (None, 0)])
def test_the_page_reads_the_consent_box_as_a_browser_posts_it(org_a, form_a, box, consents):
    """A box with no value posts "on" (a site's own form), ours "true"; unticked, nothing."""
    data = {"contact_email": "pat@pipes.example", "contact_name": "Pat"}
    posted = Client().post(f"/forms/{form_a.public_key}/", {**data, "consent": box or []})
    assert posted.status_code == 200, posted.content
    assert len(rows(org_a, ConsentRecord)) == consents
    assert [lead.consent_to_contact for lead in rows(org_a)] == [bool(consents)]


def test_the_page_refuses_a_consent_box_value_no_box_posts(org_a, form_a):
    posted = Client().post(
        f"/forms/{form_a.public_key}/", {"contact_email": "pat@pipes.example", "consent": "maybe"}
    )
    assert posted.status_code == 400
    assert "Must be a valid boolean." in posted.content.decode()
    assert rows(org_a) == []


def test_the_page_shows_field_errors_and_redirects_when_set(org_a):
    form = make_form(org_a, redirect_url="https://acme.test/thanks")
    client = Client()
    bad = client.post(f"/forms/{form.public_key}/", {"contact_email": "nope"})
    assert bad.status_code == 400
    assert 'value="nope"' in bad.content.decode()
    good = client.post(f"/forms/{form.public_key}/", {"contact_email": "ok@x.example"})
    assert (good.status_code, good["Location"]) == (303, "https://acme.test/thanks")
    assert client.get("/forms/unknown/").status_code == 404


# --- the management API ----------------------------------------------------------------


def test_an_admin_manages_forms_through_the_api(org_a, admin_a):
    client = factories.api_client(admin_a, org_a)
    created = client.post(
        "/api/v1/lead-forms/",
        {"name": "Quote", "required_fields": ["contact_phone"], "allowed_origins": ["nope"]},
        format="json",
    )
    assert created.status_code == 400
    assert "allowed_origins" in created.json()["error"]["details"]
    created = client.post(
        "/api/v1/lead-forms/", {"name": "Quote", "required_fields": ["contact_phone"]}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert len(body["public_key"]) >= 32
    assert body["submit_url"] == f"/api/v1/forms/{body['public_key']}/submit/"
    changed = client.patch(f"/api/v1/lead-forms/{body['id']}/", {"is_active": False})
    assert changed.json()["is_active"] is False
    assert submit(body["public_key"]).status_code == 404
    assert client.delete(f"/api/v1/lead-forms/{body['id']}/").status_code == 204


MALFORMED_ORIGINS = [
    "http://[::1",
    "https://x:99999",
    "https://x:abc",
    # A host that is not one would reach the form page's Content-Security-Policy as more
    # than an origin: another directive, or any site allowed to frame it.
    "https://acme.test; script-src *",
    "https://acme.test *",
    "http://[fe80::1%eth0 *]",
]
# Visitors are sent to the redirect URL: a web page only.
NOT_A_WEB_PAGE = ["ftp://acme.test/thanks", "ftps://acme.test/thanks", "javascript:alert(1)"]


def refused_on_create_and_change(organization, admin, form, body, field) -> None:
    """`body` is a 400 naming `field`, both as a new form and as a change of `form`."""
    client = factories.api_client(admin, organization)
    created = client.post("/api/v1/lead-forms/", body, format="json")
    changed = client.patch(f"/api/v1/lead-forms/{form.pk}/", body, format="json")
    for response in (created, changed):
        assert response.status_code == 400, response.content
        assert field in response.json()["error"]["details"]


@pytest.mark.parametrize("origin", MALFORMED_ORIGINS)
def test_a_malformed_origin_is_a_field_error_not_a_server_error(org_a, admin_a, form_a, origin):
    body = {"name": "Quote", "allowed_origins": [origin]}
    refused_on_create_and_change(org_a, admin_a, form_a, body, "allowed_origins")
    with tenant_context(org_a):
        assert [(f.name, f.allowed_origins) for f in LeadForm.objects.all()] == [(form_a.name, [])]


@pytest.mark.parametrize("url", NOT_A_WEB_PAGE)
def test_a_redirect_url_other_than_a_web_page_is_refused(org_a, admin_a, form_a, url):
    refused_on_create_and_change(
        org_a, admin_a, form_a, {"name": "Quote", "redirect_url": url}, "redirect_url"
    )
    with tenant_context(org_a):
        assert [(f.name, f.redirect_url) for f in LeadForm.objects.all()] == [(form_a.name, "")]


@pytest.mark.parametrize("text", ["", "   "])
def test_consent_purposes_without_the_statement_are_refused(org_a, admin_a, form_a, text):
    """A ticked box records its statement as the consent's evidence: none, no box."""
    body = {"name": "Quote", "consent_purposes": ["contact"], "consent_text": text}
    refused_on_create_and_change(org_a, admin_a, form_a, body, "consent_text")
    with tenant_context(org_a):
        assert [(f.name, f.consent_text) for f in LeadForm.objects.all()] == [
            (form_a.name, CONSENT)
        ]


def test_an_ipv6_origin_is_kept_as_a_browser_sends_it(org_a):
    form = make_form(org_a, allowed_origins=["http://[::1]:8000/"])
    assert form.allowed_origins == ["http://[::1]:8000"]
    assert submit(form, HTTP_ORIGIN="http://[::1]:8000").status_code == 201


@pytest.mark.parametrize("role", ["sales_rep", "sales_manager", "read_only"])
def test_other_roles_may_not_manage_forms(org_a, form_a, role):
    client = factories.api_client(factories.make_member(org_a, role), org_a)
    assert client.get("/api/v1/lead-forms/").status_code == 403
    assert client.post("/api/v1/lead-forms/", {"name": "Mine"}).status_code == 403
    assert client.patch(f"/api/v1/lead-forms/{form_a.pk}/", {"name": "X"}).status_code in (
        403,
        404,
    )


def test_another_organizations_form_is_404(org_a, org_b, admin_b, form_a):
    client = factories.api_client(admin_b, org_b)
    assert client.get(f"/api/v1/lead-forms/{form_a.pk}/").status_code == 404
    assert client.patch(f"/api/v1/lead-forms/{form_a.pk}/", {"name": "X"}).status_code == 404
    assert client.get("/api/v1/lead-forms/").json()["results"] == []


# --- the back office ---------------------------------------------------------------------


def test_an_admin_sets_a_form_up_in_the_back_office_and_copies_its_snippet(
    client, org_a, admin_a, form_a
):
    client.force_login(admin_a)
    page = client.get(reverse("admin:leads_leadform_change", args=[form_a.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert f"/forms/{form_a.public_key}/" in html and "&lt;iframe" in html
    added = client.post(
        reverse("admin:leads_leadform_add"),
        {
            "name": "Quote request",
            "is_active": "on",
            "required_fields": ["contact_phone"],
            "consent_purposes": ["contact"],
            "consent_text": "You may call me about a quote.",
            "assignment": "round_robin",
            "success_message": "Thanks",
            "allowed_origins": "https://acme.test",
        },
    )
    assert added.status_code == 302, added.content[:2000]
    with tenant_context(org_a):
        form = LeadForm.objects.get(name="Quote request")
    assert (form.required_fields, form.allowed_origins) == (
        ["contact_phone"],
        ["https://acme.test"],
    )


@pytest.mark.parametrize("origin", MALFORMED_ORIGINS)
def test_the_back_office_refuses_a_malformed_origin(client, org_a, admin_a, origin):
    client.force_login(admin_a)
    url = reverse("admin:leads_leadform_add")
    data = {"name": "Quote request", "assignment": "round_robin", "allowed_origins": origin}
    response = client.post(url, {**data, "success_message": "Thanks"})
    assert response.status_code == 200  # the form again, as typed
    assert "is not an origin such as https://example.com" in response.content.decode()
    assert response.context["adminform"].form["allowed_origins"].value() == origin
    assert rows(org_a, LeadForm) == []


def test_the_back_office_refuses_a_redirect_url_other_than_a_web_page(client, org_a, admin_a):
    client.force_login(admin_a)
    url = reverse("admin:leads_leadform_add")
    data = {"name": "Quote request", "assignment": "round_robin", "success_message": "Thanks"}
    response = client.post(url, {**data, "redirect_url": "ftp://acme.test/thanks"})
    assert response.status_code == 200  # the form again, as typed
    assert "The URL must start with http:// or https://." in response.content.decode()
    assert response.context["adminform"].form["redirect_url"].value() == "ftp://acme.test/thanks"
    assert rows(org_a, LeadForm) == []


def test_a_rep_has_no_forms_page(client, rep_a, form_a):
    client.force_login(rep_a)
    assert client.get(reverse("admin:leads_leadform_changelist")).status_code == 403
