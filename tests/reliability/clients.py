"""What the reliability tests share to act as clients: the demo admin's API session, and
eight clients sending at the same moment."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from accounts import services as account_services
from accounts.models import User
from compliance.choices import ConsentPurpose
from leads import lead_forms
from smartweb.tenancy.context import tenant_context

CLIENTS = 8


def admin_session(organization, *, name: str, clients: int = CLIENTS) -> requests.Session:
    """A requests session as the organization's demo admin with an API token of its own,
    holding up to `clients` connections at once. Needs the database (unblocked)."""
    user = User.objects.get(email=f"admin@{organization.slug}.smartweb.test")
    with tenant_context(organization, user=user):
        _, raw = account_services.token_create(
            user=user, organization_id=organization.pk, name=name, expires_in_days=1
        )
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {raw}"
    adapter = requests.adapters.HTTPAdapter(pool_connections=clients, pool_maxsize=clients)
    http.mount("http://", adapter)
    return http


def at_once(call, arguments=range(CLIENTS)):
    """`call(argument)` for each argument, from eight clients at the same moment; the
    responses in order."""
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(call, arguments))


def public_form(organization, name: str):
    """A public lead form that asks for an email and records consent to contact."""
    with tenant_context(organization):
        return lead_forms.lead_form_create(
            acting_user=None,
            data={
                "name": name,
                "consent_text": "You may contact me.",
                "consent_purposes": [ConsentPurpose.CONTACT],
                "required_fields": ["contact_email"],
            },
        )
