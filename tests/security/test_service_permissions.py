"""Every service that writes checks its own permission, whoever calls it: each public
function of the services taking an `acting_user` (found by inspection, so a new one is
checked too) refuses a member whose role grants nothing, and writes nothing."""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import invitations, signing_secrets, user_tokens
from accounts import services as account_services
from accounts.models import APIToken, Invitation, Membership, OAuthAccount, Role, Team, UserSession
from attachments import services as attachment_services
from attachments.models import Attachment
from compliance import services as compliance_services
from compliance.models import SubjectRequest
from crm import services as crm_services
from crm.models import Campaign, Contract, Opportunity, Pipeline, PipelineStage, Proposal, Task
from leads import csv_io, lead_forms
from leads import services as lead_services
from leads.models import Interaction, Lead, LeadEnrichment, LeadForm, Tag
from mailing import services as mailing_services
from mailing.choices import MessageKind
from mailing.models import EmailTemplate, InboundSecret
from notifications import events as notification_events
from savedviews import services as saved_view_services
from savedviews.models import SavedView
from sharing import selectors as sharing_selectors
from sharing import services as sharing_services
from smartweb.tenancy.context import tenant_context
from sso import identities as sso_identities
from sso import services as sso_services
from sso.models import IdentityProvider
from tests import factories
from tests.factories import acting_as
from tests.security.conftest import committed_for_module
from tests.security.populate import populate_every_tenant_table
from webhooks import services as webhook_services
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

# Every module with a public function taking an `acting_user`. The email provider's
# inbound webhook (`mailing.inbound`) and the lead's own unsubscribe link
# (`mailing.optout`) act for no user and take none.
SERVICE_MODULES = (
    account_services,
    invitations,
    signing_secrets,
    user_tokens,
    sso_services,
    sso_identities,
    lead_services,
    lead_forms,
    csv_io,
    crm_services,
    compliance_services,
    saved_view_services,
    webhook_services,
    attachment_services,
    mailing_services,
    sharing_services,
    sharing_selectors,
    notification_events,
)
# Bulk services filter what they are given to what the user may change, and say so.
FILTERING = {"leads_rescore", "leads_change_status"}
# What the forms and pages ask before a write, writing nothing: the checks a write makes
# (each refuses with the write's own reason) and the choices a form offers.
NOT_WRITES = {
    "ensure_grantable",
    "ensure_role_grantable",
    "grantable_roles",
    "invitation_check",
    "membership_check",
    "membership_delete_check",
    "placeable_teams",
    "role_change_check",
    "role_delete_check",
    "refuse_unless_may_share",
    "share_candidates",
    "active_in_each_organization",
}
# What a service tells a person of a change it has authorised, in its transaction, naming
# the acting user as the one who made it: not a change of its own to authorise.
REPORTS_AN_AUTHORISED_CHANGE = {
    "lead_assigned": "tells the assignee of an assignment lead_create, _update, leads_assign made",
    "proposal_accepted": "tells the deal's owner of an acceptance proposal_accept made",
    "mentioned": "tells those a note mentions of a note interaction_log or _update wrote",
}
# Arguments a service names as another's but means otherwise: {service: {argument: the
# key of `_rows` it takes}}.
MEANT_OTHERWISE = {
    "membership_update": {"changes": "membership_changes"},
    "user_update": {"changes": "profile_changes"},
    "provider_save": {"provider": "identity_provider"},
    "provider_delete": {"provider": "identity_provider"},
    "unlink": {"link": "identity"},
    "email_document": {"record": "proposal", "kind": "message_kind"},
    "import_leads": {"source": "csv_file"},
}


def _write_services():
    return sorted(
        (f"{module.__name__}.{name}", function)
        for module in SERVICE_MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__
        and not name.startswith("_")
        and name not in NOT_WRITES
        and name not in REPORTS_AN_AUTHORISED_CHANGE
        and "acting_user" in inspect.signature(function).parameters
    )


def _rows(organization, peer):
    """A row for each kind of argument the services take, by the argument's name. The
    people's are the peer's, a member with the same role as the user (so that no rule
    but the permission's refuses), and the roles, teams and invitations grant nothing."""
    lead = Lead.objects.filter(opportunities__isnull=False).first()
    first = lambda model: model._default_manager.first()  # noqa: E731
    return {
        "lead": lead,
        "primary": lead,
        "duplicates": [Lead.objects.exclude(pk=lead.pk).first()],
        "leads": [lead],
        "queryset": Lead.objects.all(),
        "company": lead.company,
        "tag": first(Tag),
        "tags": [first(Tag)],
        "interaction": first(Interaction),
        "enrichment": first(LeadEnrichment),
        "pipeline": first(Pipeline),
        "stage": first(PipelineStage),
        "opportunity": first(Opportunity),
        "proposal": first(Proposal),
        "contract": first(Contract),
        "campaign": first(Campaign),
        "task": first(Task),
        "subject_request": first(SubjectRequest),
        "view": first(SavedView),
        "endpoint": first(Endpoint),
        "url": "http://127.0.0.1:9/hooks",
        "event_types": ["lead.created"],
        "resource": "leads",
        "query": {},
        "status": "contacted",
        "assignee": None,
        "signer_name": "Dana",
        "kind": "export",
        "purpose": "contact",
        "granted": False,
        "source": "phone",
        "provider": "test",
        "data": {"name": "Changed"},
        "name": "Changed",
        "reason": "Because",
        "organization": organization,
        "changes": {"name": "Changed"},
        "membership_changes": {"is_active": False},
        "profile_changes": {"full_name": "Changed"},
        "user": peer,
        "membership": Membership.objects.get(user=peer),
        "admin_email": peer.email,
        "admin_password": None,
        "new_password": None,
        "revoke_api_tokens": False,
        "token": first(APIToken),
        "session": UserSession.objects.get(user=peer),
        "identity": OAuthAccount.objects.get(user=peer),
        "team": Team.objects.get(name="Spare"),
        "role": Role.objects.get(slug="spare"),
        "grants": {},
        "invitation": Invitation.objects.get(role__slug="spare"),
        "email": "another.invitee@example.test",
        "link": str,
        "identity_provider": first(IdentityProvider),
        "record": lead,
        "upload": SimpleUploadedFile("note.txt", b"A note.", content_type="text/plain"),
        "attachment": first(Attachment),
        "template": first(EmailTemplate),
        "subject": "Changed",
        "body": "Changed",
        "message_kind": MessageKind.PROPOSAL,
        "model": InboundSecret,
        "audit_action": "test.secret_rotated",
        "csv_file": io.StringIO("company_name,contact_email\nImported,imported@example.test\n"),
        "out": io.StringIO(),
        "form": first(LeadForm),
        "access_level": "read",
    }


def _stored() -> dict[str, list[str]]:
    """Every row the user could reach, as stored: of the organization's tables (history
    included) and the global ones (users, their devices and identities), of every model
    of the project."""
    return {
        model._meta.db_table: sorted(str(row) for row in model._base_manager.values_list())
        for model in apps.get_models()
        if _of_the_project(model)
    }


def _of_the_project(model) -> bool:
    """A table of the project's own (not a page's model without one, nor a library's)."""
    path = Path(apps.get_app_config(model._meta.app_label).path)
    return (
        model._meta.managed
        and not model._meta.proxy
        and path.is_relative_to(settings.BASE_DIR)
        and "site-packages" not in path.parts
    )


@pytest.fixture(scope="module")
def nobody(django_db_setup, django_db_blocker):
    """An organization with a row in every table, a member whose role grants nothing and
    a peer of theirs (with a device and an identity), and a role, a team and an invitation
    that grant nothing."""
    with committed_for_module(django_db_blocker):
        organization = populate_every_tenant_table()
        with tenant_context(organization):
            account_services.role_create(name="Nobody", slug="nobody", grants={})
            spare = account_services.role_create(name="Spare", slug="spare", grants={})
            account_services.team_create(name="Spare", acting_user=None)
            invitations.invitation_create(
                email="invitee@example.test", role=spare, acting_user=None, link=str
            )
        peer = factories.make_member(organization, "nobody")
        UserSession.objects.create(user=peer, session_key="peer-session")
        OAuthAccount.objects.create(user=peer, provider="google", provider_account_id="peer")
        yield organization, factories.make_member(organization, "nobody"), peer


def test_the_services_are_found():
    names = {name.rsplit(".", 1)[1] for name, _ in _write_services()}
    assert {
        "lead_update",
        "proposal_accept",
        "erase_subject",
        "webhook_secret_rotate",
        "team_create",
        "role_set_permissions",
        "membership_update",
        "invitation_revoke",
        "provider_save",
        "unlink",
        "attachment_create",
        "email_document",
        "import_leads",
        "lead_form_update",
        "record_share",
        "rotate",
    } <= names


@pytest.mark.parametrize(("name", "service"), _write_services(), ids=lambda v: str(v))
def test_a_write_service_refuses_a_member_without_the_permission(nobody, name, service):
    organization, user, peer = nobody
    short_name = name.rsplit(".", 1)[1]
    with acting_as(user, organization):
        rows = _rows(organization, peer)
        required = [
            p.name
            for p in inspect.signature(service).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.default is p.empty
            and p.name != "acting_user"
        ]
        meant = MEANT_OTHERWISE.get(short_name, {})
        arguments = {key: rows[meant.get(key, key)] for key in required}
        before = _stored()
        if short_name in FILTERING:
            result = service(acting_user=user, **arguments)
            assert (result if isinstance(result, int) else result[0]) == 0
        else:
            with pytest.raises(PermissionDenied):
                service(acting_user=user, **arguments)
        assert _stored() == before
