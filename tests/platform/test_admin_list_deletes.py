"""A row deleted with the list's "Delete selected" is deleted as from its own page: through
the same service, which writes the same trash entry (who deleted it), the same history row
and the same audit events (email templates, lead forms, saved views), refuses what it
refuses, and does what it does besides (an interaction's lead is scored again). Another
organization's rows are not among the choices."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditLog, Membership, Role, RolePermission
from leads import lead_forms
from leads import services as lead_services
from leads.models import Lead
from mailing import services as mailing_services
from savedviews import services as savedview_services
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import tenant_context
from tests.factories import UserFactory, admin_browser
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


def _template(organization, n: int):
    with tenant_context(organization):
        return mailing_services.template_create(
            acting_user=None, name=f"Intro {n}", subject="Hello", body="Hi"
        )


def _lead_form(organization, n: int):
    with tenant_context(organization):
        return lead_forms.lead_form_create(
            acting_user=None,
            data={"name": f"Enquiry {n}", "required_fields": ["contact_email"]},
        )


def _saved_view(organization, n: int, owner):
    with tenant_context(organization):
        return savedview_services.saved_view_create(
            acting_user=None, owner=owner, resource="leads", name=f"Hot {n}", query={}
        )


KINDS = {
    "email template": (_template, "mailing_emailtemplate"),
    "lead form": (_lead_form, "leads_leadform"),
    "saved view": (_saved_view, "savedviews_savedview"),
}


def _make(kind: str, organization, n: int, user):
    make, _ = KINDS[kind]
    return make(organization, n, user) if kind == "saved view" else make(organization, n)


def _written(organization, row) -> dict:
    """What deleting `row` wrote: its trash entry, its last history row, the audit events."""
    model = type(row)
    with tenant_context(organization):
        stored = model.all_objects.get(pk=row.pk)
        last = model.history.filter(id=row.pk).order_by("-history_date").first()
        audited = sorted(
            AuditLog.objects.filter(target_id=str(row.pk)).values_list("action", flat=True)
        )
    return {
        "deleted": stored.deleted_at is not None,
        "deleted_by": stored.deleted_by_id,
        "history": (last.history_type, last.history_user_id, last.deleted_at is not None),
        "audit": audited,
    }


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_list_deletes_as_the_page_does(kind, org_a, admin_a):
    _, admin_name = KINDS[kind]
    one, two = (_make(kind, org_a, n, admin_a) for n in (1, 2))
    client = admin_browser(admin_a)

    page = reverse(f"admin:{admin_name}_delete", args=[one.pk])
    assert client.post(page, {"post": "yes"}).status_code == 302
    selected = {"action": "delete_selected", "_selected_action": [str(two.pk)]}
    changelist = reverse(f"admin:{admin_name}_changelist")
    assert "Are you sure" in client.post(changelist, selected).content.decode()
    assert client.post(changelist, {**selected, "post": "yes"}).status_code == 302

    from_page, from_list = _written(org_a, one), _written(org_a, two)
    assert from_page["deleted"] and from_page["deleted_by"] == admin_a.pk
    assert from_list == from_page


def _delete_from_the_list(client, admin_name: str, rows) -> None:
    selected = {"action": "delete_selected", "_selected_action": [str(row.pk) for row in rows]}
    client.post(reverse(f"admin:{admin_name}_changelist"), {**selected, "post": "yes"})


def test_the_list_refuses_what_the_page_refuses(org_a, org_b, admin_b):
    """Templates are the organization's set-up, changed by whoever may change it: a role
    that may delete the organization's rows but not change them deletes none, from the
    page or the list."""
    template = _template(org_a, 1)
    with tenant_context(org_a):
        role = Role.objects.create(name="Tidier", slug="tidier")
        for action in (Action.READ, Action.DELETE):
            RolePermission.objects.create(role=role, resource=Resource.ORGANIZATIONS, action=action)
        tidier = UserFactory()
        Membership.objects.create(organization=org_a, user=tidier, role=role)
    client = admin_browser(tidier)
    page = reverse("admin:mailing_emailtemplate_delete", args=[template.pk])
    assert client.post(page, {"post": "yes"}).status_code == 403
    _delete_from_the_list(client, "mailing_emailtemplate", [template])
    _delete_from_the_list(admin_browser(admin_b), "mailing_emailtemplate", [template])
    assert not _written(org_a, template)["deleted"]


def test_interactions_deleted_from_the_list_leave_their_lead_scored_again(org_a, rep_a, manager_a):
    lead = make_lead(org_a, contact_name="Dana Drip", assigned_to=rep_a)
    with tenant_context(org_a):
        unengaged = Lead.objects.get(pk=lead.pk).lead_score
        interaction = lead_services.interaction_log(
            lead=lead,
            acting_user=None,
            data={"type": "call", "direction": "outbound", "outcome": "interested"},
        )
        assert Lead.objects.get(pk=lead.pk).lead_score > unengaged

    _delete_from_the_list(admin_browser(manager_a), "leads_interaction", [interaction])
    with tenant_context(org_a):
        assert Lead.objects.get(pk=lead.pk).lead_score == unengaged
        assert type(interaction).all_objects.get(pk=interaction.pk).deleted_at is not None
