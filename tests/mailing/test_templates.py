"""Templates per organization: written by its admins (others 403, another organization's
404), read by its members; a field not in the list, or a brace left open, is refused
when the template is saved, with the known fields named, and nothing is written."""

from __future__ import annotations

import pytest

from mailing import fields
from mailing.models import EmailTemplate
from smartweb.tenancy.context import tenant_context
from tests.factories import api_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/email-templates/"
GOOD = {
    "name": "Follow-up",
    "subject": "About {{ lead.company }}",
    "body": "Hi {{lead.contact_name}}",
}


def _count(org) -> int:
    with tenant_context(org):
        return EmailTemplate.all_objects.count()


def test_an_admin_writes_a_template_and_members_read_it(org_a, admin_a, readonly_a):
    created = api_client(admin_a, org_a).post(URL, GOOD, format="json")
    assert created.status_code == 201, created.content
    template_id = created.json()["id"]
    changed = api_client(admin_a, org_a).patch(
        f"{URL}{template_id}/", {"subject": "Re {{ lead.company }}"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["subject"] == "Re {{ lead.company }}"
    listed = api_client(readonly_a, org_a).get(URL).json()["results"]
    assert [t["name"] for t in listed] == ["Follow-up"]


def test_an_unknown_field_is_refused_with_the_known_ones(org_a, admin_a):
    client = api_client(admin_a, org_a)
    answer = client.post(URL, {**GOOD, "body": "Hi {{ lead.password }}"}, format="json")
    assert answer.status_code == 400
    message = " ".join(answer.json()["error"]["details"]["body"])
    assert "Unknown field {{ lead.password }}" in message and "{{ sender.name }}" in message
    unclosed = client.post(URL, {**GOOD, "subject": "About {{ lead.company"}, format="json")
    assert unclosed.status_code == 400 and "subject" in unclosed.json()["error"]["details"]
    assert _count(org_a) == 0
    created = client.post(URL, GOOD, format="json").json()
    refused = client.patch(f"{URL}{created['id']}/", {"subject": "{{ x }}"}, format="json")
    assert refused.status_code == 400
    with tenant_context(org_a):
        assert EmailTemplate.objects.get().subject == GOOD["subject"]


def test_a_name_is_used_once_per_organization(org_a, admin_a, org_b, admin_b):
    assert api_client(admin_a, org_a).post(URL, GOOD, format="json").status_code == 201
    again = api_client(admin_a, org_a).post(URL, GOOD, format="json")
    assert again.status_code == 400 and "name" in again.json()["error"]["details"]
    assert api_client(admin_b, org_b).post(URL, GOOD, format="json").status_code == 201


def test_members_who_are_not_admins_get_403_and_outsiders_404(
    org_a, admin_a, manager_a, rep_a, readonly_a, org_b, admin_b
):
    for user in (manager_a, rep_a, readonly_a):
        assert api_client(user, org_a).post(URL, GOOD, format="json").status_code == 403
    template_id = api_client(admin_a, org_a).post(URL, GOOD, format="json").json()["id"]
    assert api_client(rep_a, org_a).delete(f"{URL}{template_id}/").status_code == 403
    outsider = api_client(admin_b, org_b)
    assert outsider.get(f"{URL}{template_id}/").status_code == 404
    assert outsider.patch(f"{URL}{template_id}/", {"name": "x"}, format="json").status_code == 404
    assert _count(org_a) == 1


def test_rendering_fills_each_field_and_nothing_else(org_a):
    from types import SimpleNamespace as NS

    lead = NS(
        contact_name="Dana",
        contact_title="",
        contact_email="d@x.test",
        contact_phone="",
        company_id=1,
        company=NS(name="Drip Drop"),
    )
    sender = NS(full_name="", email="rep@agency.test")
    text = (
        "{{ lead.contact_name }} / {{lead.company}} / {{ sender.name }} / {{ organization.name }}"
    )
    rendered = fields.render(text, lead=lead, sender=sender, organization=NS(name="Agency"))
    assert rendered == "Dana / Drip Drop / rep@agency.test / Agency"
    # A value that looks like a field is not read again.
    lead.contact_name = "{{ sender.email }}"
    assert (
        fields.render("{{ lead.contact_name }}", lead=lead, sender=sender, organization=None)
        == "{{ sender.email }}"
    )
