"""create_organization and seed_demo, as an operator runs them."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organization, Role, User
from smartweb.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def test_create_organization_makes_roles_and_first_admin(capsys):
    call_command(
        "create_organization",
        "Pipe Dreams Ltd",
        admin_email="Owner@PipeDreams.test",
        admin_password="a-strong-pass-phrase-42",
    )
    organization = Organization.objects.get(slug="pipe-dreams-ltd")
    admin = User.objects.get(email="owner@pipedreams.test")
    assert admin.check_password("a-strong-pass-phrase-42")
    assert admin.default_organization == organization
    with tenant_context(organization):
        assert Role.objects.count() == 5
        assert Membership.objects.get(user=admin).role.slug == "org_admin"
        assert default_role_names() == DEFAULT_NAMES
    assert "Created organization Pipe Dreams Ltd" in capsys.readouterr().out


# The specification's "Super Admin" is named for what it is in an organization: its admin.
DEFAULT_NAMES = {
    "super_admin": "Organization Super Admin",
    "org_admin": "Organization Admin",
    "sales_manager": "Sales Manager",
    "sales_rep": "Sales Rep",
    "read_only": "Read Only",
}


def default_role_names() -> dict[str, str]:
    """slug -> name of the current organization's default roles."""
    return dict(Role.objects.filter(is_system=True).values_list("slug", "name"))


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (["  "], {"admin_email": "a@b.test", "admin_password": "a-strong-pass-42"}, "name"),
        (["Valid"], {"admin_email": "not-an-email", "admin_password": "x-strong-42"}, "email"),
        (["Valid"], {"admin_email": "new@b.test", "admin_password": "123"}, "too short"),
        (["Valid"], {"admin_email": "new@b.test"}, "needs a password"),
        (
            ["Valid"],
            {"admin_email": "n@b.test", "admin_password": "ok-pass-42x", "slug": "Bad Slug"},
            "lowercase",
        ),
    ],
)
def test_create_organization_refuses_bad_input_and_writes_nothing(args, options, message):
    before = Organization.objects.count(), User.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("create_organization", *args, **options)
    assert (Organization.objects.count(), User.objects.count()) == before


def test_create_organization_refuses_a_taken_slug(org_a):
    with pytest.raises(CommandError, match="taken"):
        call_command(
            "create_organization",
            "Acme",
            slug=org_a.slug,
            admin_email="x@y.test",
            admin_password="a-strong-pass-42",
        )


def test_create_organization_refuses_a_password_for_an_existing_account(admin_a):
    before = admin_a.password
    with pytest.raises(CommandError, match="already has an account, which keeps its own"):
        call_command(
            "create_organization",
            "Evil",
            admin_email=admin_a.email.upper(),
            admin_password="another-strong-pass-42",
        )
    assert not Organization.objects.filter(slug="evil").exists()
    admin_a.refresh_from_db()
    assert admin_a.password == before

    call_command("create_organization", "Evil", admin_email=admin_a.email)  # no password
    evil = Organization.objects.get(slug="evil")
    with tenant_context(evil):
        assert Membership.objects.get(user=admin_a).role.slug == "org_admin"
    admin_a.refresh_from_db()
    assert admin_a.password == before


def test_seed_demo_twice_duplicates_nothing():
    call_command("seed_demo")
    counts = (Organization.objects.count(), User.objects.count())
    call_command("seed_demo")
    assert (Organization.objects.count(), User.objects.count()) == counts
    demo = Organization.objects.get(slug="demo")
    with tenant_context(demo):
        assert Membership.objects.count() == 5
        assert default_role_names() == DEFAULT_NAMES
