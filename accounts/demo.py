"""Demo organizations and people for `manage.py seed_demo` (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from accounts import services
from accounts.models import Membership, Organization, Role, Team, User
from smartweb import time_zones
from smartweb.tenancy.context import tenant_context

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (the published demo login)


@dataclass(frozen=True)
class DemoOrganization:
    slug: str
    name: str
    domain: str
    plan: str
    # Both sell to British trades (Europe/London, +44 numbers): deals, proposals and
    # contracts in pounds, not in the product's default currency (EUR).
    settings: tuple[tuple[str, str], ...] = (("currency", "GBP"),)
    time_zone: str = "Europe/London"


DEMO_ORGANIZATIONS = (
    DemoOrganization("demo", "Demo Web Agency", "demo.smartweb.test", "professional"),
    DemoOrganization("northwind", "Northwind Sites", "northwind.smartweb.test", "starter"),
)
# key -> (email local part, full name, role slug)
DEMO_PEOPLE = {
    "admin": ("admin", "Alex Admin", "org_admin"),
    "manager": ("manager", "Morgan Manager", "sales_manager"),
    "rep": ("rep", "Riley Rep", "sales_rep"),
    "rep2": ("rep2", "Sam Seller", "sales_rep"),
    "viewer": ("viewer", "Vic Viewer", "read_only"),
}


def _user(email: str, full_name: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, DEMO_PASSWORD, full_name=full_name)
    return user


def ensure_organization(spec: DemoOrganization) -> tuple[Organization, dict[str, User]]:
    """The demo organization and its people, created on first call only."""
    organization = Organization.objects.filter(slug=spec.slug).first()
    if organization is None:
        organization = services.organization_create(
            name=spec.name,
            slug=spec.slug,
            plan=spec.plan,
            time_zone=spec.time_zone,
            admin_email=f"admin@{spec.domain}",
            admin_password=DEMO_PASSWORD,
        )
    elif organization.time_zone == time_zones.DEFAULT != spec.time_zone:
        # Demo data loaded before organizations had a zone of their own.
        organization.time_zone = spec.time_zone
        organization.save(update_fields=["time_zone"])
    missing = {k: v for k, v in spec.settings if k not in (organization.settings or {})}
    if missing:  # before the sales data, which is priced in the organization's currency
        organization.settings = {**(organization.settings or {}), **missing}
        organization.save(update_fields=["settings"])
    users = {}
    with tenant_context(organization):
        team, _ = Team.objects.get_or_create(organization=organization, name="Field sales")
        for key, (local, full_name, role_slug) in DEMO_PEOPLE.items():
            user = _user(f"{local}@{spec.domain}", full_name)
            if not user.full_name:
                user.full_name = full_name
                user.save(update_fields=["full_name"])
            if user.default_organization_id is None:
                user.default_organization = organization
                user.save(update_fields=["default_organization"])
            Membership.objects.get_or_create(
                organization=organization,
                user=user,
                defaults={
                    "role": Role.objects.get(slug=role_slug),
                    "team": team if key in ("manager", "rep") else None,
                },
            )
            users[key] = user
        if team.manager_id is None:
            team.manager = users["manager"]
            team.save(update_fields=["manager", "updated_at"])
    return organization, users
