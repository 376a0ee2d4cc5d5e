"""Joining an organization by invitation: an admin invites an email, the person accepts
the emailed link. An existing account is never pulled in without its consent, and the
answer to the admin does not tell whether the email has an account."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.audit import AuditAction
from accounts.models import Invitation, Membership, Role, User
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client, audit_actions
from tests.html_forms import form_data, select_labels

pytestmark = pytest.mark.django_db

ACCEPT = "/api/v1/invitations/accept/"
NEW_PASSWORD = "a-Long-enough-pw-42"


def _role(organization, slug):
    with tenant_context(organization):
        return Role.objects.get(slug=slug)


def invite(admin, organization, email, role="sales_rep", **extra):
    """POST /users/ as `admin`; the email goes out when the invitation commits."""
    client = factories.api_client(admin, organization)
    payload = {"email": email, "role": str(_role(organization, role).pk), **extra}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/api/v1/users/", payload, format="json")


def link_token(message) -> str:
    return re.search(r"/invitations/([^/\s]+)/", message.body).group(1)


def test_a_new_email_creates_its_account_when_it_accepts(admin_a, org_a, team_a):
    response = invite(admin_a, org_a, "New.Person@Example.test", team=str(team_a.pk))

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    assert not User.objects.filter(email__iexact="new.person@example.test").exists()
    (message,) = mail.outbox
    assert message.to == ["new.person@example.test"] and org_a.name in message.subject
    token = link_token(message)

    accepted = APIClient().post(
        ACCEPT, {"token": token, "full_name": "New Person", "password": NEW_PASSWORD}
    )

    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["organization"]["id"] == str(org_a.pk)
    user = User.objects.get(email="new.person@example.test")
    assert user.full_name == "New Person" and user.check_password(NEW_PASSWORD)
    assert user.default_organization == org_a
    with tenant_context(org_a):
        membership = Membership.objects.get(user=user)
        assert membership.role.slug == "sales_rep" and membership.team == team_a
        assert membership.invited_by == admin_a
        assert Invitation.objects.get().status == "accepted"
    assert {AuditAction.INVITATION_CREATED, AuditAction.INVITATION_ACCEPTED} <= set(
        audit_actions(org_a)
    )
    # The person can now sign in to the organization.
    assert factories.api_client(user, org_a).get("/api/v1/me/").status_code == 200


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(
    admin_a, org_a, admin_b, org_b
):
    admin_b.full_name = "Bea Bravo"
    admin_b.save(update_fields=["full_name"])
    existing = invite(admin_a, org_a, admin_b.email)
    new = invite(admin_a, org_a, "nobody@example.test")

    assert existing.status_code == new.status_code == 202
    assert existing.json().keys() == new.json().keys()
    body = existing.content.decode()
    assert str(admin_b.pk) not in body and admin_b.full_name not in body
    # Not a member until they accept: nothing of theirs changed, here or in their organization.
    with tenant_context(org_a):
        assert not Membership.objects.filter(user=admin_b).exists()
    assert factories.api_client(admin_b, org_b).get("/api/v1/me/").json()["user"]["full_name"] == (
        admin_b.full_name
    )


def test_an_existing_account_joins_only_signed_in_as_itself(admin_a, org_a, admin_b, org_b, rep_a):
    invite(admin_a, org_a, admin_b.email, role="read_only")
    token = link_token(mail.outbox[0])

    anonymous = APIClient().post(ACCEPT, {"token": token, "password": NEW_PASSWORD})
    someone_else = factories.api_client(rep_a, org_a).post(ACCEPT, {"token": token})
    themselves = factories.api_client(admin_b, org_b).post(ACCEPT, {"token": token})

    assert anonymous.status_code == 403 and someone_else.status_code == 403
    assert themselves.status_code == 201, themselves.content
    admin_b.refresh_from_db()
    assert not admin_b.check_password(NEW_PASSWORD)
    with tenant_context(org_a):
        assert Membership.objects.get(user=admin_b).role.slug == "read_only"
    with tenant_context(org_b):
        assert Membership.objects.get(user=admin_b).role.slug == "org_admin"


def _refused(token):
    response = APIClient().post(ACCEPT, {"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 400, response.content
    assert "token" in response.json()["error"]["details"]
    return response


def test_a_used_link_cannot_be_used_again(admin_a, org_a):
    invite(admin_a, org_a, "once@example.test")
    token = link_token(mail.outbox[0])
    assert APIClient().post(ACCEPT, {"token": token, "password": NEW_PASSWORD}).status_code == 201

    _refused(token)


def test_an_expired_or_altered_link_is_refused(admin_a, org_a):
    invite(admin_a, org_a, "late@example.test")
    token = link_token(mail.outbox[0])
    with tenant_context(org_a):
        Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    _refused(token)
    _refused(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert not User.objects.filter(email="late@example.test").exists()


def test_a_revoked_invitation_cannot_be_accepted(admin_a, org_a):
    response = invite(admin_a, org_a, "revoked@example.test")
    token = link_token(mail.outbox[0])
    client = factories.api_client(admin_a, org_a)

    revoked = client.post(f"/api/v1/invitations/{response.json()['id']}/revoke/")

    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    _refused(token)
    assert AuditAction.INVITATION_REVOKED in audit_actions(org_a)


def test_inviting_again_replaces_the_previous_link(admin_a, org_a):
    invite(admin_a, org_a, "twice@example.test")
    invite(admin_a, org_a, "twice@example.test")
    first, second = (link_token(message) for message in mail.outbox)

    _refused(first)
    accepted = APIClient().post(ACCEPT, {"token": second, "password": NEW_PASSWORD})
    assert accepted.status_code == 201


def test_a_new_account_needs_a_valid_password_and_nothing_is_half_written(admin_a, org_a):
    invite(admin_a, org_a, "weak@example.test")
    token = link_token(mail.outbox[0])

    response = APIClient().post(ACCEPT, {"token": token, "password": "123"})

    assert response.status_code == 400 and "password" in response.json()["error"]["details"]
    assert not User.objects.filter(email="weak@example.test").exists()
    with tenant_context(org_a):
        assert Invitation.objects.get().status == "pending"


def test_the_invitation_page_creates_the_account_and_opens_the_back_office(admin_a, org_a):
    invite(admin_a, org_a, "page@example.test")
    token = link_token(mail.outbox[0])
    client = Client()

    page = client.get(f"/invitations/{token}/")
    joined = client.post(
        f"/invitations/{token}/",
        {"full_name": "Page Person", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert page.status_code == 200 and org_a.name in page.content.decode()
    assert joined.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert client.get(f"/invitations/{token}/").status_code == 404


def test_the_invitation_page_refuses_a_name_of_two_lines(admin_a, org_a):
    """As the API and the profile pages do: a name heads the From of one's mail."""
    invite(admin_a, org_a, "page@example.test")
    token = link_token(mail.outbox[0])

    page = Client().post(
        f"/invitations/{token}/",
        {
            "full_name": "Page\r\nBcc: x@evil.test",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert page.status_code == 200 and "one line" in page.content.decode()
    assert not User.objects.filter(email="page@example.test").exists()
    with tenant_context(org_a):
        assert Invitation.objects.get().status == "pending"


def test_a_removed_member_invited_again_gets_their_membership_back(admin_a, rep_a, org_a):
    client = factories.api_client(admin_a, org_a)
    assert client.delete(f"/api/v1/memberships/{_membership(rep_a, org_a).pk}/").status_code == 204
    invite(admin_a, org_a, rep_a.email, role="read_only")

    accepted = factories.api_client(rep_a).post(ACCEPT, {"token": link_token(mail.outbox[0])})

    assert accepted.status_code == 201, accepted.content
    membership = _membership(rep_a, org_a)
    assert membership.deleted_at is None and membership.role.slug == "read_only"


def test_a_removed_member_whose_role_was_deleted_since_gets_their_membership_back(
    admin_a, rep_a, org_a
):
    """The membership comes back with the role given now: the old one, in the trash, is
    not what it is restored under."""
    with factories.acting_as(admin_a, org_a):
        scout = services.role_create(name="Scout", grants={}, acting_user=admin_a)
        services.membership_update(
            membership=_membership(rep_a, org_a), changes={"role": scout}, acting_user=admin_a
        )
    client = factories.api_client(admin_a, org_a)
    assert client.delete(f"/api/v1/memberships/{_membership(rep_a, org_a).pk}/").status_code == 204
    assert client.delete(f"/api/v1/roles/{scout.pk}/").status_code == 204
    invite(admin_a, org_a, rep_a.email, role="read_only")

    accepted = factories.api_client(rep_a).post(ACCEPT, {"token": link_token(mail.outbox[0])})

    assert accepted.status_code == 201, accepted.content
    membership = _membership(rep_a, org_a)
    assert membership.deleted_at is None and membership.role.slug == "read_only"


def _membership(user, organization):
    with tenant_context(organization):
        return Membership.all_objects.select_related("role").get(user=user)


# Who may see and revoke invitations


def test_invitations_are_listed_to_their_organization_only(admin_a, org_a, admin_b, org_b):
    response = invite(admin_a, org_a, "listed@example.test")
    invitation_id = response.json()["id"]
    other = factories.api_client(admin_b, org_b)

    mine = factories.api_client(admin_a, org_a).get("/api/v1/invitations/")

    assert [row["email"] for row in mine.json()["results"]] == ["listed@example.test"]
    assert other.get("/api/v1/invitations/").json()["results"] == []
    assert other.get(f"/api/v1/invitations/{invitation_id}/").status_code == 404
    assert other.post(f"/api/v1/invitations/{invitation_id}/revoke/").status_code == 404
    with tenant_context(org_a):
        assert Invitation.objects.get().status == "pending"


@pytest.mark.parametrize("person", ["rep_a", "readonly_a", "manager_a"])
def test_inviting_and_revoking_need_the_permission(person, admin_a, org_a, request):
    invitation_id = invite(admin_a, org_a, "guarded@example.test").json()["id"]
    client = factories.api_client(request.getfixturevalue(person), org_a)
    payload = {"email": "x@example.test", "role": str(_role(org_a, "sales_rep").pk)}

    assert client.post("/api/v1/invitations/", payload).status_code == 403
    assert client.get("/api/v1/invitations/").status_code == 403
    assert client.post(f"/api/v1/invitations/{invitation_id}/revoke/").status_code == 403
    assert len(mail.outbox) == 1


def test_invitation_admin_is_per_organization(admin_a, org_a, admin_b, rep_a):
    invite(admin_a, org_a, "admin-listed@example.test")
    with tenant_context(org_a):
        invitation = Invitation.objects.get()
    url = f"/admin/accounts/invitation/{invitation.pk}/change/"

    assert admin_client(admin_a).get(url).status_code == 200
    assert admin_client(admin_b).get(url).status_code == 404
    assert admin_client(rep_a).get("/admin/accounts/invitation/").status_code == 403
    revoked = admin_client(admin_a).post(
        "/admin/accounts/invitation/",
        {"action": "revoke_selected", "_selected_action": [invitation.pk]},
    )
    assert revoked.status_code == 302
    with tenant_context(org_a):
        assert Invitation.objects.get().status == "revoked"


RECRUITER = {("users", action): "all" for action in ("create", "read", "update")} | {
    ("roles", "read"): "all",
    ("leads", "read"): "own",
}


def test_no_one_invites_or_moves_a_member_to_a_role_above_their_own(
    org_a, admin_a, manager_a, rep_a, rep_a2
):
    """A member who may invite and change members, and little else, is refused the
    Organization Admin and Organization Super Admin roles (400 at `role`, in the API and
    the admin's forms) for anyone, themselves included, and writes nothing. An
    Organization Admin may give Organization Super Admin, which grants exactly what their
    own role does; a Sales Manager invites no one."""
    with factories.acting_as(admin_a, org_a):
        services.role_create(name="Recruiter", grants=RECRUITER, acting_user=admin_a)
        Membership.objects.filter(user=rep_a).update(role=Role.objects.get(slug="recruiter"))
        own, colleague = (Membership.objects.get(user=user) for user in (rep_a, rep_a2))
    client = factories.api_client(rep_a, org_a)
    page = admin_client(rep_a)

    for slug in ("super_admin", "org_admin"):
        role = str(_role(org_a, slug).pk)
        invited = client.post("/api/v1/invitations/", {"email": "up@example.test", "role": role})
        made = client.patch(f"/api/v1/memberships/{own.pk}/", {"role": role}, format="json")
        form = page.post(
            "/admin/accounts/invitation/add/", {"email": "up@example.test", "role": role}
        )
        for answer in (invited, made):
            assert answer.status_code == 400, answer.content
            assert list(answer.json()["error"]["details"]) == ["role"]
            assert "beyond your own permissions" in str(answer.json()["error"]["details"])
        assert form.status_code == 200
        assert list(form.context["adminform"].form.errors) == ["role"]
        change = f"/admin/accounts/membership/{own.pk}/change/"
        shown = form_data(page.get(change).content.decode(), "membership_form")
        changed = page.post(change, {**shown, "role": [role]})
        assert changed.status_code == 200
        assert list(changed.context["adminform"].form.errors) == ["role"]
        # A colleague whose role grants more than theirs is not theirs to change at all.
        moved = client.patch(f"/api/v1/memberships/{colleague.pk}/", {"role": role}, format="json")
        assert moved.status_code == 403
    with tenant_context(org_a):
        assert not Invitation.objects.exists()
        assert Membership.objects.get(pk=own.pk).role.slug == "recruiter"
        assert Membership.objects.get(pk=colleague.pk).role.slug == "sales_rep"

    assert invite(admin_a, org_a, "second@example.test", role="super_admin").status_code == 202
    assert invite(manager_a, org_a, "by-manager@example.test").status_code == 403


def test_an_invitation_stands_only_while_its_sender_may_still_send_it(admin_a, org_a):
    """An admin made a Sales Rep, or removed, no longer makes anyone an admin through an
    invitation sent before: the link is refused as any lapsed one, and no one joins. An
    invitation to a role the sender still gives stands while they may invite."""
    admin_a2 = factories.make_member(org_a, "org_admin")
    invite(admin_a, org_a, "made-admin@example.test", role="org_admin")
    invite(admin_a2, org_a, "made-rep@example.test")
    to_admin, to_rep = (link_token(message) for message in mail.outbox)
    with tenant_context(org_a):
        Membership.objects.filter(user=admin_a).update(role=_role(org_a, "sales_rep"))

    _refused(to_admin)
    with tenant_context(org_a):
        assert not Membership.objects.filter(user__email="made-admin@example.test").exists()
        Membership.objects.filter(user=admin_a).update(role=_role(org_a, "org_admin"))
        Membership.objects.filter(user=admin_a2).update(is_active=False)

    _refused(to_rep)
    accepted = APIClient().post(ACCEPT, {"token": to_admin, "password": NEW_PASSWORD})
    assert accepted.status_code == 201, accepted.content


INVITER = {("users", "create"): "all", ("users", "read"): "all"}

# What the lists read of an invitation whose sender may no longer send it

INVITATIONS = "/admin/accounts/invitation/"


def _lose_the_right(how, sender, admin, organization):
    """`sender` may no longer send what they sent, as `how` says (as `admin` changes it)."""
    with factories.acting_as(admin, organization):
        membership = Membership.objects.get(user=sender)
        if how == "demoted":
            # Still inviting, but no longer giving all a Sales Rep may do.
            recruiter = services.role_create(name="Recruiter", grants=RECRUITER, acting_user=admin)
            changes = {"role": recruiter}
        elif how == "deactivated":
            changes = {"is_active": False}
        elif how == "account_deactivated":
            # Their account, by the platform: their membership is left as it was.
            services.user_update(user=sender, changes={"is_active": False}, acting_user=None)
            return
        elif how == "lost_users_create":
            # Their own role, which they invited to, no longer invites.
            services.role_set_permissions(
                role=membership.role, grants={("users", "read"): "all"}, acting_user=admin
            )
            return
        if how == "removed":
            services.membership_delete(membership=membership, acting_user=admin)
        else:
            services.membership_update(membership=membership, changes=changes, acting_user=admin)


def _listed_statuses(page) -> dict[str, str]:
    """The admin list's status of each invitation, by email."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.content.decode(), re.S)
    return {
        re.search(r'class="field-email"><a[^>]*>([^<]*)</a>', row).group(1): re.search(
            r'class="field-status">([^<]*)<', row
        ).group(1)
        for row in rows
        if "field-status" in row
    }


def _answered_statuses(client) -> dict[str, str]:
    """The API's status of each invitation, by email."""
    answered = client.get("/api/v1/invitations/")
    assert answered.status_code == 200, answered.content
    return {row["email"]: row["status"] for row in answered.json()["results"]}


def _shown_status(page) -> str:
    """The status on an invitation's admin page."""
    html = page.content.decode()
    return re.search(r'field-status.*?<div class="readonly">([^<]*)</div>', html, re.S).group(1)


@pytest.mark.parametrize(
    "how", ["demoted", "deactivated", "account_deactivated", "removed", "lost_users_create"]
)
def test_an_invitation_its_sender_may_no_longer_send_reads_lapsed(
    how, org_a, admin_a, admin_b, org_b
):
    """The admin's list and page and the API (list and one) read "lapsed" where the link
    is refused, by the one rule; an invitation whose sender may still send it reads
    "pending". Another organization's admin is shown neither."""
    if how == "lost_users_create":
        with factories.acting_as(admin_a, org_a):
            services.role_create(name="Inviter", grants=INVITER, acting_user=admin_a)
        sender = factories.make_member(org_a, "inviter")
        role = "inviter"
    else:
        sender = factories.make_member(org_a, "org_admin")
        role = "sales_rep"
    assert invite(sender, org_a, "lapsing@example.test", role=role).status_code == 202
    assert invite(admin_a, org_a, "standing@example.test").status_code == 202
    lapsing = link_token(mail.outbox[0])
    with tenant_context(org_a):
        ids = dict(Invitation.objects.values_list("email", "pk"))
    expected = {"lapsing@example.test": "lapsed", "standing@example.test": "pending"}

    _lose_the_right(how, sender, admin_a, org_a)

    _refused(lapsing)
    page = admin_client(admin_a)
    listed = page.get(INVITATIONS)
    assert listed.status_code == 200
    assert _listed_statuses(listed) == {email: s.title() for email, s in expected.items()}
    api = factories.api_client(admin_a, org_a)
    assert _answered_statuses(api) == expected
    for email, status in expected.items():
        shown = page.get(f"{INVITATIONS}{ids[email]}/change/")
        assert shown.status_code == 200
        assert _shown_status(shown) == status.title()
        assert api.get(f"/api/v1/invitations/{ids[email]}/").json()["status"] == status
    other_page, other_api = admin_client(admin_b), factories.api_client(admin_b, org_b)
    assert _listed_statuses(other_page.get(INVITATIONS)) == {}
    assert _answered_statuses(other_api) == {}
    for pk in ids.values():
        assert other_page.get(f"{INVITATIONS}{pk}/change/").status_code == 404
        assert other_api.get(f"/api/v1/invitations/{pk}/").status_code == 404


def test_a_lapsed_invitation_may_be_revoked_and_stands_again_when_its_sender_may_send_it(
    org_a, admin_a
):
    """Lapsed is not final: the link works again once its sender may send it again, so it
    stays theirs to revoke."""
    sender = factories.make_member(org_a, "org_admin")
    other = factories.make_member(org_a, "org_admin")
    for who, email in ((sender, "back@example.test"), (other, "revoked@example.test")):
        assert invite(who, org_a, email).status_code == 202
    with factories.acting_as(admin_a, org_a):
        for who in (sender, other):
            services.membership_update(
                membership=Membership.objects.get(user=who),
                changes={"is_active": False},
                acting_user=admin_a,
            )
    api = factories.api_client(admin_a, org_a)

    assert _answered_statuses(api) == {
        "back@example.test": "lapsed",
        "revoked@example.test": "lapsed",
    }
    with tenant_context(org_a):
        revoked = Invitation.objects.get(email="revoked@example.test")
    answer = api.post(f"/api/v1/invitations/{revoked.pk}/revoke/")
    assert answer.status_code == 200 and answer.json()["status"] == "revoked"
    with tenant_context(org_a):
        Membership.objects.filter(user=sender).update(is_active=True)
    assert _answered_statuses(api) == {
        "back@example.test": "pending",
        "revoked@example.test": "revoked",
    }


def test_the_invitation_lists_read_their_senders_in_queries_that_do_not_grow(org_a, admin_a):
    """Whether each invitation stands is decided for the page at once: the admin's list
    and the API's answer a page of sixteen, sent by sixteen people (some of whom may still
    send them, some deactivated, some removed, some whose account was deactivated), in the
    queries of a page of four."""
    sales_rep = _role(org_a, "sales_rep")
    counter = iter(range(100))

    def send(kinds):
        for how in kinds:
            sender = factories.make_member(org_a, "org_admin")
            with tenant_context(org_a):
                Invitation.objects.create(
                    email=f"counted{next(counter)}@example.test",
                    role=sales_rep,
                    invited_by=sender,
                    key_hash=f"{next(counter):064d}",
                    expires_at=timezone.now() + dt.timedelta(days=1),
                )
            if how:
                _lose_the_right(how, sender, admin_a, org_a)

    page, api = admin_client(admin_a), factories.api_client(admin_a, org_a)

    def counted():
        with CaptureQueriesContext(connection) as listed:
            assert page.get(INVITATIONS).status_code == 200
        with CaptureQueriesContext(connection) as answered:
            assert api.get("/api/v1/invitations/").status_code == 200
        return len(listed), len(answered)

    kinds = [None, "deactivated", "removed", "account_deactivated"]
    send(kinds)
    counted()  # a token's first use is recorded
    few = counted()
    send(kinds * 3)
    assert counted() == few
    assert sorted(_answered_statuses(api).values()) == ["lapsed"] * 12 + ["pending"] * 4
    assert sorted(_listed_statuses(page.get(INVITATIONS)).values()) == (
        ["Lapsed"] * 12 + ["Pending"] * 4
    )


def test_an_invitations_role_is_named_only_to_whoever_may_read_roles(org_a, admin_a, rep_a):
    """A custom role may invite without reading the roles: the invitation list then has
    no role column or filter, and an invitation's page no role, as the membership list
    (`smartweb.admin_readers`), and the API answers its role null, the invitation just
    sent included. The Organization Admin sees them."""
    with factories.acting_as(admin_a, org_a):
        services.role_create(name="Inviter", grants=INVITER, acting_user=admin_a)
        Membership.objects.filter(user=rep_a).update(role=Role.objects.get(slug="inviter"))
    assert invite(admin_a, org_a, "someone@example.test").status_code == 202
    with tenant_context(org_a):
        invitation = Invitation.objects.get()

    for user, reads_roles in ((rep_a, False), (admin_a, True)):
        client = admin_client(user)
        listed = client.get("/admin/accounts/invitation/")
        page = client.get(f"/admin/accounts/invitation/{invitation.pk}/change/")
        assert listed.status_code == page.status_code == 200
        listed, page = listed.content.decode(), page.content.decode()
        assert "someone@example.test" in listed and "someone@example.test" in page
        assert ("Sales Rep" in listed) == reads_roles
        assert ("column-role" in listed) == reads_roles
        assert ("role__id__exact" in listed) == reads_roles  # the filter by role
        assert ("Sales Rep" in page) == reads_roles
        assert ("field-role" in page) == reads_roles
        assert "field-team" in page  # the rest of the page is shown
        # The API answers the same: the role is null in its place.
        (listed,) = factories.api_client(user, org_a).get("/api/v1/invitations/").json()["results"]
        assert (listed["role"] is not None) == reads_roles
        assert listed["team"] is None and listed["email"] == "someone@example.test"
    sent = invite(rep_a, org_a, "another@example.test", role="inviter")
    assert sent.status_code == 202, sent.content
    assert sent.json()["role"] is None and sent.json()["status"] == "pending"


def test_a_member_whose_role_grants_more_is_shown_not_offered_a_form(
    org_a, admin_a, manager_a, rep_a, rep_a2
):
    """A recruiter (who changes members) opens the membership of a Sales Rep, whose role
    grants more than theirs: the page shows it with nothing to save, as it offers no
    Delete, where each save, unchanged too, was refused ("This member's role grants more
    than yours"); a save posted anyway is a 403 and changes nothing. A member within their
    role, and their own membership, stay theirs to save."""
    with factories.acting_as(admin_a, org_a):
        services.role_create(name="Recruiter", grants=RECRUITER, acting_user=admin_a)
        recruiter = Role.objects.get(slug="recruiter")
        Membership.objects.filter(user__in=[rep_a, manager_a]).update(role=recruiter)
        above, within, own = (
            Membership.objects.get(user=user) for user in (rep_a2, manager_a, rep_a)
        )
    page = admin_client(rep_a)

    def stored(membership):
        with tenant_context(org_a):
            row = Membership.objects.get(pk=membership.pk)
            return row.role_id, row.team_id, row.is_active, row.updated_at, row.history.count()

    change = f"/admin/accounts/membership/{above.pk}/change/"
    shown = page.get(change)
    assert shown.status_code == 200
    html = shown.content.decode()
    assert "View membership" in html and 'name="_save"' not in html
    assert '<select name="role"' not in html
    before = stored(above)
    posted = page.post(change, {"role": [str(above.role_id)], "is_active": "on"})
    assert posted.status_code == 403
    assert stored(above) == before

    for membership in (within, own):
        change = f"/admin/accounts/membership/{membership.pk}/change/"
        form = form_data(page.get(change).content.decode(), "membership_form")
        before = stored(membership)
        assert page.post(change, {**form, "_continue": ["1"]}).status_code == 302
        assert stored(membership) == before


def test_the_invitation_form_offers_only_the_roles_the_inviter_may_give(org_a, admin_a, rep_a):
    """The admin's role dropdowns, an invitation's and a membership's, offer the roles
    the save accepts (the rule refusing a role above one's own): a recruiter is offered
    their own role alone, not the Organization Admin they would be refused once they had
    chosen it; an Organization Admin is offered every role. The API's body takes any
    role's id, refused at `role`."""
    with factories.acting_as(admin_a, org_a):
        services.role_create(name="Recruiter", grants=RECRUITER, acting_user=admin_a)
        Membership.objects.filter(user=rep_a).update(role=Role.objects.get(slug="recruiter"))
        every_role = set(Role.objects.values_list("name", flat=True))
        own = Membership.objects.get(user=rep_a).pk
    add = "/admin/accounts/invitation/add/"

    def offered(user, url=add):
        page = admin_client(user).get(url)
        assert page.status_code == 200
        return set(select_labels(page.content.decode(), "role")) - {"---------"}

    assert offered(rep_a) == {"Recruiter"}
    assert offered(admin_a) == every_role
    assert offered(rep_a, f"/admin/accounts/membership/{own}/change/") == {"Recruiter"}
    assert offered(admin_a, f"/admin/accounts/membership/{own}/change/") == every_role
    sent = admin_client(rep_a).post(
        add, {"email": "new@example.test", "role": _role(org_a, "recruiter").pk}
    )
    assert sent.status_code == 302
    with tenant_context(org_a):
        assert Invitation.objects.get().role.slug == "recruiter"


# Invites members at team scope: into their own team only.
TEAM_RECRUITER = {
    ("users", "create"): "team",
    ("users", "read"): "all",
    ("users", "update"): "team",
    ("teams", "read"): "all",
    ("roles", "read"): "all",
    ("leads", "read"): "team",
}


def test_an_invitation_names_only_a_team_its_sender_may_place_members_in(org_a, admin_a, team_a):
    """A member's team is what their team scope reads, so an invitation into a team places
    its new member where moving a member would (`membership_check`): who invites at team
    scope invites into their own team, or none, and is refused another team (400 at
    `team`, in the API and the admin's form, nothing written): a new account of their own
    invited there would read that team's leads. The form offers their own team alone; who
    invites for the whole organization invites into any team."""
    south = factories.make_team(org_a, "South")
    with factories.acting_as(admin_a, org_a):
        services.role_create(
            name="Team recruiter", slug="team-recruiter", grants=TEAM_RECRUITER, acting_user=admin_a
        )
    recruiter = factories.make_member(org_a, "team-recruiter", team=team_a)
    role = str(_role(org_a, "team-recruiter").pk)
    add = "/admin/accounts/invitation/add/"

    refused = invite(recruiter, org_a, "puppet@example.test", "team-recruiter", team=str(south.pk))
    assert refused.status_code == 400, refused.content
    assert list(refused.json()["error"]["details"]) == ["team"]
    page = admin_client(recruiter)
    assert select_labels(page.get(add).content.decode(), "team") == ["---------", "North"]
    form = page.post(add, {"email": "puppet@example.test", "role": role, "team": south.pk})
    assert form.status_code == 200
    assert list(form.context["adminform"].form.errors) == ["team"]

    with tenant_context(org_a):
        assert not Invitation.objects.exists()

    for email, team in (("north@example.test", team_a), ("no.team@example.test", None)):
        extra = {"team": str(team.pk)} if team else {}
        sent = invite(recruiter, org_a, email, "team-recruiter", **extra)
        assert sent.status_code == 202, sent.content
    sent = invite(admin_a, org_a, "south@example.test", "team-recruiter", team=str(south.pk))
    assert sent.status_code == 202, sent.content
    with tenant_context(org_a):
        placed = dict(Invitation.objects.values_list("email", "team__name"))
    assert placed == {
        "north@example.test": "North",
        "no.team@example.test": None,
        "south@example.test": "South",
    }


def test_an_invitation_into_a_team_lapses_when_its_sender_leaves_the_team(org_a, admin_a, team_a):
    """An invitation stands while its sender may still send it, its team included: a
    sender who invites at team scope and is moved to another team no longer places anyone
    in the team they left (the link is refused, the lists read "lapsed"); one into no team
    stands. Moved back, the invitation stands again."""
    south = factories.make_team(org_a, "South")
    with factories.acting_as(admin_a, org_a):
        services.role_create(
            name="Team recruiter", slug="team-recruiter", grants=TEAM_RECRUITER, acting_user=admin_a
        )
    recruiter = factories.make_member(org_a, "team-recruiter", team=team_a)
    sent = invite(recruiter, org_a, "north@example.test", "team-recruiter", team=str(team_a.pk))
    assert sent.status_code == 202, sent.content
    assert invite(recruiter, org_a, "none@example.test", "team-recruiter").status_code == 202
    north = link_token(mail.outbox[0])
    api = factories.api_client(admin_a, org_a)

    def move_recruiter(team):
        with factories.acting_as(admin_a, org_a):
            services.membership_update(
                membership=Membership.objects.get(user=recruiter),
                changes={"team": team},
                acting_user=admin_a,
            )

    move_recruiter(south)
    assert _answered_statuses(api) == {
        "north@example.test": "lapsed",
        "none@example.test": "pending",
    }
    _refused(north)
    move_recruiter(team_a)
    assert _answered_statuses(api) == {
        "north@example.test": "pending",
        "none@example.test": "pending",
    }


def test_no_one_revokes_an_invitation_to_a_role_above_their_own(org_a, admin_a, rep_a):
    """A recruiter reads every invitation of the organization, and revokes those they
    could have sent: not an Organization Admin's invitation of another admin, whose role
    grants more than theirs (403 in the API; the admin's list says why and revokes none
    of those chosen), as they do not change that admin's membership either."""
    with factories.acting_as(admin_a, org_a):
        services.role_create(name="Recruiter", grants=RECRUITER, acting_user=admin_a)
        Membership.objects.filter(user=rep_a).update(role=Role.objects.get(slug="recruiter"))
    above = invite(admin_a, org_a, "new.admin@example.test", role="org_admin").json()["id"]
    own = invite(rep_a, org_a, "new.recruiter@example.test", role="recruiter").json()["id"]
    api = factories.api_client(rep_a, org_a)

    refused = api.post(f"/api/v1/invitations/{above}/revoke/")
    assert refused.status_code == 403, refused.content
    page = admin_client(rep_a)
    listed = page.post(INVITATIONS, {"action": "revoke_selected", "_selected_action": [above, own]})
    shown = [str(m) for m in page.get(listed["Location"]).context["messages"]]
    assert any("grants more than yours" in message for message in shown), shown
    assert _answered_statuses(api) == {
        "new.admin@example.test": "pending",
        "new.recruiter@example.test": "pending",
    }
    revoked = api.post(f"/api/v1/invitations/{own}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
