"""Permissions are resource x action x scope (see DESIGN.md, "Roles and permissions")."""

from django.db import models


class Resource(models.TextChoices):
    ORGANIZATIONS = "organizations"
    USERS = "users"
    TEAMS = "teams"
    ROLES = "roles"
    COMPANIES = "companies"
    LEADS = "leads"
    INTERACTIONS = "interactions"
    PIPELINES = "pipelines"
    OPPORTUNITIES = "opportunities"
    PROPOSALS = "proposals"
    CONTRACTS = "contracts"
    CAMPAIGNS = "campaigns"
    AI_CALLS = "ai_calls"
    TASKS = "tasks"
    AUDIT_LOGS = "audit_logs"
    # Data subject rights: read = export and the compliance page, delete = erasure.
    COMPLIANCE = "compliance"
    # A person's saved list filters; read reaches the views shared within the scope.
    SAVED_VIEWS = "saved_views"
    # Outbound webhook endpoints and their delivery log: the organization admins' alone.
    WEBHOOKS = "webhooks"
    # Public lead-capture forms: the organization's configuration, for its admins.
    LEAD_FORMS = "lead_forms"


class Action(models.TextChoices):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"


class Scope(models.TextChoices):
    OWN = "own"
    TEAM = "team"
    ALL = "all"


SCOPE_RANK = {Scope.OWN: 1, Scope.TEAM: 2, Scope.ALL: 3}

SALES_RESOURCES = (
    Resource.COMPANIES,
    Resource.LEADS,
    Resource.INTERACTIONS,
    Resource.OPPORTUNITIES,
    Resource.PROPOSALS,
    Resource.CONTRACTS,
    Resource.TASKS,
    Resource.AI_CALLS,
)
ADMIN_RESOURCES = (
    Resource.ORGANIZATIONS,
    Resource.LEAD_FORMS,
    Resource.USERS,
    Resource.TEAMS,
    Resource.ROLES,
    Resource.AUDIT_LOGS,
)


def _grants(resources, actions, scope):
    return {(resource, action): scope for resource in resources for action in actions}


ALL_ACTIONS = tuple(Action)
# Saved views for the sales roles: their own to write, their team's shared ones to read
# (private views stay their owner's whatever the scope: savedviews.models).
PERSONAL_VIEWS = {
    **_grants([Resource.SAVED_VIEWS], [Action.CREATE, Action.UPDATE, Action.DELETE], Scope.OWN),
    **_grants([Resource.SAVED_VIEWS], [Action.READ], Scope.TEAM),
}
# The default roles of every organization: slug -> (name, {(resource, action): scope}).
# "super_admin" is the specification's fifth default role ("Super Admin"), kept so the five
# exist in every organization; as a role it grants what org admin does, in its organization
# alone, and is named so (the platform's super admin is User.is_superuser, set by the
# operator, never a role).
DEFAULT_ROLES: dict[str, tuple[str, dict]] = {
    "super_admin": ("Organization Super Admin", _grants(tuple(Resource), ALL_ACTIONS, Scope.ALL)),
    "org_admin": ("Organization Admin", _grants(tuple(Resource), ALL_ACTIONS, Scope.ALL)),
    "sales_manager": (
        "Sales Manager",
        {
            **_grants(SALES_RESOURCES, ALL_ACTIONS, Scope.TEAM),
            **_grants((Resource.PIPELINES, Resource.CAMPAIGNS), ALL_ACTIONS, Scope.ALL),
            **_grants((Resource.USERS, Resource.TEAMS, Resource.ROLES), [Action.READ], Scope.ALL),
            **_grants([Resource.TEAMS], [Action.UPDATE], Scope.TEAM),
            **_grants([Resource.ORGANIZATIONS], [Action.READ], Scope.ALL),
            **PERSONAL_VIEWS,
        },
    ),
    "sales_rep": (
        "Sales Rep",
        {
            **_grants(SALES_RESOURCES, [Action.CREATE, Action.READ, Action.UPDATE], Scope.OWN),
            **_grants(
                (Resource.PIPELINES, Resource.CAMPAIGNS, Resource.USERS, Resource.TEAMS),
                [Action.READ],
                Scope.ALL,
            ),
            **_grants([Resource.ORGANIZATIONS], [Action.READ], Scope.ALL),
            **PERSONAL_VIEWS,
        },
    ),
    "read_only": (
        "Read Only",
        _grants(
            [
                r
                for r in Resource
                if r
                not in (
                    Resource.AUDIT_LOGS,
                    Resource.COMPLIANCE,
                    Resource.WEBHOOKS,
                    Resource.LEAD_FORMS,
                )
            ],
            [Action.READ],
            Scope.ALL,
        ),
    ),
}

# The default roles that administer their organization (the same grants): each counts as
# its admin wherever one is asked for (an organization keeps one; "admins" must use a
# second factor).
ADMIN_ROLE_SLUGS = ("org_admin", "super_admin")

# What a role field (a membership's, an invitation's) tells whoever chooses one.
ROLE_HELP = (
    "What the member may do in this organization, and only here (Roles lists each role's "
    f"permissions). {DEFAULT_ROLES['super_admin'][0]} grants what "
    f"{DEFAULT_ROLES['org_admin'][0]} does, no more: no role reaches other organizations "
    "or the platform."
)
