"""The bulk actions of every list are the ones the user's role permits: a read-only user
and a sales rep are not offered what would then do nothing or be refused, and an action
posted anyway is refused with nothing changed.

Generic: every tenant model admin the admin site registers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditLog
from leads.models import Lead, LeadTag
from smartweb.rbac import DEFAULT_ROLES, Action
from smartweb.tenancy.context import tenant_context
from tests.accounts.conftest import admin_client
from tests.factories import share
from tests.leads.factories import TagFactory, make_lead
from tests.security.routes import tenant_admins

pytestmark = pytest.mark.django_db

LEAD_LIST = reverse("admin:leads_lead_changelist")
# What a rep may do to their own leads (their role has no delete and no compliance).
REP_LEAD_ACTIONS = {
    "assign_selected",
    "tag_selected",
    "change_status_selected",
    "rescore_selected",
    "export_csv",
}


def _url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _offered(client, url: str) -> set[str] | None:
    """The actions a list's Action box offers, or None when the list does not open."""
    response = client.get(url)
    if response.status_code != 200 or not hasattr(response, "context_data"):
        return None
    form = response.context_data.get("action_form")
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_every_action_declares_what_it_needs():
    # One that declares nothing is offered to no one: this finds it before a user does.
    for model, model_admin in tenant_admins():
        for func, name, _ in model_admin._get_base_actions():
            assert getattr(func, "allowed_permissions", None), f"{model.__name__}: {name}"


def test_a_read_only_user_is_offered_only_the_export(readonly_a):
    client = admin_client(readonly_a)
    for model, _ in tenant_admins():
        offered = _offered(client, _url(model))
        if offered is not None:
            assert offered <= {"export_csv"}, model.__name__
    assert _offered(client, LEAD_LIST) == {"export_csv"}


def test_a_rep_is_offered_no_deletion_restore_or_data_subject_action(rep_a):
    client = admin_client(rep_a)
    refused = {"delete_selected", "restore_selected", "erase_subject_data", "export_subject_data"}
    _, grants = DEFAULT_ROLES["sales_rep"]
    for model, model_admin in tenant_admins():
        if (model_admin.resource, Action.DELETE) in grants:
            continue  # their own saved views
        offered = _offered(client, _url(model))
        if offered is not None:
            assert not offered & refused, model.__name__
    assert _offered(client, LEAD_LIST) == REP_LEAD_ACTIONS


def test_an_organization_admin_is_offered_every_lead_action(admin_a):
    offered = _offered(admin_client(admin_a), LEAD_LIST)
    assert offered == REP_LEAD_ACTIONS | {
        "delete_selected",
        "restore_selected",
        "export_subject_data",
        "erase_subject_data",
    }


@pytest.mark.parametrize(
    "action",
    ["change_status_selected", "assign_selected", "tag_selected", "rescore_selected"],
)
def test_a_hidden_action_posted_by_a_read_only_user_changes_nothing(org_a, readonly_a, action):
    lead = make_lead(org_a, contact_name="Dana Drip")
    tag = TagFactory(organization=org_a, name="spring")
    response = admin_client(readonly_a).post(
        LEAD_LIST,
        {
            "action": action,
            "_selected_action": [str(lead.pk)],
            "apply": "1",
            "status": "contacted",
            "assigned_to": str(readonly_a.pk),
            "tag": str(tag.pk),
        },
        follow=True,
    )
    assert "No action selected." in _messages(response)
    with tenant_context(org_a):
        stored = Lead.objects.get(pk=lead.pk)
        assert (stored.status, stored.assigned_to_id) == (lead.status, lead.assigned_to_id)
        assert not LeadTag.objects.exists()


def test_a_deleted_row_is_not_restored_by_a_read_only_user(org_a, readonly_a):
    lead = make_lead(org_a)
    with tenant_context(org_a):
        lead.delete()
    admin_client(readonly_a).post(
        LEAD_LIST + "?state=deleted",
        {"action": "restore_selected", "_selected_action": [str(lead.pk)]},
    )
    with tenant_context(org_a):
        assert Lead.all_objects.get(pk=lead.pk).is_deleted


def test_a_rep_posting_the_erasure_erases_nothing(org_a, rep_a):
    lead = make_lead(org_a, contact_name="Dana Drip", assigned_to=rep_a)
    response = admin_client(rep_a).post(
        LEAD_LIST,
        {"action": "erase_subject_data", "_selected_action": [str(lead.pk)], "confirm": "yes"},
        follow=True,
    )
    assert "No action selected." in _messages(response)
    with tenant_context(org_a):
        assert Lead.objects.get(pk=lead.pk).contact_name == "Dana Drip"
        assert not AuditLog.objects.filter(action="data.erasure").exists()


def test_rows_refused_for_permission_are_counted_plainly(org_a, admin_a, rep_a, rep_a2):
    mine = make_lead(org_a, contact_name="Mine", assigned_to=rep_a)
    shown = make_lead(org_a, contact_name="Shown", assigned_to=rep_a2)
    tag = TagFactory(organization=org_a, name="spring")
    share(shown, rep_a, org_a, by=admin_a)  # read, not change
    response = admin_client(rep_a).post(
        LEAD_LIST,
        {
            "action": "tag_selected",
            "_selected_action": [str(mine.pk), str(shown.pk)],
            "apply": "1",
            "tag": str(tag.pk),
        },
        follow=True,
    )
    messages = _messages(response)
    assert "You may not change 1 of the selected leads." in messages
    assert "Tagged 1 lead(s)." in messages
    with tenant_context(org_a):
        assert list(LeadTag.objects.values_list("lead_id", flat=True)) == [mine.pk]


def test_the_assignee_choices_are_whom_the_user_may_assign_to(org_a, rep_a, readonly_a):
    lead = make_lead(org_a, assigned_to=rep_a)
    page = admin_client(rep_a).post(
        LEAD_LIST, {"action": "assign_selected", "_selected_action": [str(lead.pk)]}
    )
    choices = page.context_data["form"].fields["assigned_to"].queryset
    with tenant_context(org_a):
        assert list(choices) == [rep_a]
