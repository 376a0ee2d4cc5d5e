from accounts.models import Membership, Role
from smartweb.tenancy.context import tenant_context


def test_new_organization_has_default_roles_and_admin(org_a, admin_a):
    with tenant_context(org_a):
        slugs = set(Role.objects.values_list("slug", flat=True))
        assert slugs == {"super_admin", "org_admin", "sales_manager", "sales_rep", "read_only"}
        assert Membership.objects.get(user=admin_a).role.slug == "org_admin"


def test_no_context_sees_nothing(org_a):
    assert not Role.objects.exists()
