"""Subject requests in the admin name the person they are about, not an id, linked to their
lead where its page opens for the viewer."""

import pytest
from django.utils import timezone

from accounts.models import Membership, Role, RolePermission
from compliance import services
from compliance.choices import RequestKind
from compliance.models import SubjectRequest
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import tenant_context
from tests import factories

pytestmark = pytest.mark.django_db

LIST = "/admin/compliance/subjectrequest/"


def _request(organization, admin, person):
    with factories.acting_as(admin, organization):
        return services.subject_request_open(
            kind=RequestKind.EXPORT, lead=person.lead, acting_user=admin
        )


def test_the_list_and_the_page_show_the_person_s_name(client, org_a, admin_a, subject):
    request = _request(org_a, admin_a, subject)
    client.force_login(admin_a)
    listed = client.get(LIST).content.decode()
    assert subject.name in listed and subject.company_name in listed
    assert f"/admin/leads/lead/{subject.lead.pk}/change/" in listed
    assert f">{request.lead_reference}<" not in listed  # the id is a link, not the text
    page = client.get(f"{LIST}{request.pk}/change/")
    assert page.status_code == 200
    assert subject.name in page.content.decode()


def test_an_erased_person_is_not_named_again(client, org_a, admin_a, subject):
    with factories.acting_as(admin_a, org_a):
        services.erase_subject(lead=subject.lead, acting_user=admin_a)
    client.force_login(admin_a)
    listed = client.get(LIST).content.decode()
    assert "[erased]" in listed and subject.last not in listed


def test_another_organization_and_a_member_without_the_right_see_nothing(
    client, org_a, admin_a, admin_b, manager_a, subject
):
    request = _request(org_a, admin_a, subject)
    client.force_login(admin_b)
    assert subject.last not in client.get(LIST).content.decode()
    assert client.get(f"{LIST}{request.pk}/change/").status_code in (302, 404)
    client.force_login(manager_a)  # no right to compliance: the list is refused
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}{request.pk}/change/").status_code in (403, 404)


def test_the_person_is_linked_only_where_their_lead_opens(client, org_a, admin_a, subject):
    """A privacy officer handles every request but reads only the leads assigned to them:
    the person is named, not linked to a page that would answer them 404."""
    request = _request(org_a, admin_a, subject)
    with tenant_context(org_a):
        role = Role.objects.create(name="Privacy officer", slug="privacy-officer")
        for resource, scope in ((Resource.COMPLIANCE, Scope.ALL), (Resource.LEADS, Scope.OWN)):
            RolePermission.objects.create(
                role=role, resource=resource, action=Action.READ, scope=scope
            )
        officer = factories.UserFactory()
        Membership.objects.create(organization=org_a, user=officer, role=role)
    lead_page = f"/admin/leads/lead/{subject.lead.pk}/change/"
    client.force_login(officer)
    for page in (LIST, f"{LIST}{request.pk}/change/"):
        body = client.get(page).content.decode()
        assert subject.name in body and lead_page not in body, page
    assert client.get(lead_page).status_code == 404

    client.force_login(admin_a)
    assert lead_page in client.get(f"{LIST}{request.pk}/change/").content.decode()


def test_a_request_added_without_its_person_is_refused_on_the_form(client, org_a, admin_a, subject):
    """The lead chooser of the add page may be left empty: the page asks for the person
    (it answered 500), and records the request once they are chosen."""
    client.force_login(admin_a)
    now = timezone.localtime()
    form = {
        "kind": RequestKind.EXPORT,
        "received_at_0": now.date().isoformat(),
        "received_at_1": now.strftime("%H:%M:%S"),
        "notes": "Asked by phone",
        "_save": "Save",
    }
    refused = client.post(f"{LIST}add/", form)
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors == {"lead": ["This field is required."]}
    with tenant_context(org_a):
        assert not SubjectRequest.objects.exists()

    saved = client.post(f"{LIST}add/", {**form, "lead": str(subject.lead.pk)})
    assert saved.status_code == 302
    with tenant_context(org_a):
        assert SubjectRequest.objects.get().lead == subject.lead
