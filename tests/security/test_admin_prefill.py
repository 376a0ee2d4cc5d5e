"""An admin add page names no row the user may not read, whatever id its query string
prefills (`?lead=<id>`, as the pages' "add" links do): not through a raw id input's
label, not as an autocomplete's selected option, not as a dropdown's choice. A posted id
outside the user's read scope is the form error of an id that does not exist.

Generic: every foreign key of every tenant model admin's add page, prefilled with a row of
the organization the user may not read (a sales rep) and with a row of another
organization (an organization admin)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from smartweb import access
from smartweb.rbac import Action
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.factories import acting_as, session_client
from tests.leads.factories import make_lead
from tests.security.populate import populate_every_tenant_table
from tests.security.routes import tenant_admins

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha_and_bravo():
    return (
        populate_every_tenant_table("Alpha", trash=True),
        populate_every_tenant_table("Bravo", trash=True),
    )


def _scoped_keys(model):
    for field in model._meta.get_fields():
        if field.many_to_one and field.concrete and hasattr(field.related_model, "rbac_resource"):
            yield field


def _hidden_row(field, user, organization, other):
    """A row of the field's model the user may not read: of their organization outside
    their scope (when `other` is None), else of the other organization."""
    rows = field.related_model._default_manager
    if other is not None:
        with tenant_context(other):
            return rows.values_list("pk", flat=True).first()
    with acting_as(user, organization):
        readable = access.visible(user, Action.READ, rows.all()).values("pk")
        return rows.exclude(pk__in=readable).values_list("pk", flat=True).first()


@pytest.mark.parametrize("role", ["sales_rep", "org_admin"])
def test_no_add_page_names_a_prefilled_row_the_user_may_not_read(alpha_and_bravo, role):
    alpha, bravo = alpha_and_bravo
    user = factories.make_member(alpha, role)
    other = bravo if role == "org_admin" else None
    client = session_client(user)
    leaked, checked = {}, 0
    for model, _ in tenant_admins():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/add/"
        for field in _scoped_keys(model):
            pk = _hidden_row(field, user, alpha, other)
            if pk is None:
                continue
            response = client.get(f"{url}?{field.name}={pk}")
            assert response.status_code < 500, url
            if response.status_code != 200:
                continue
            checked += 1
            # The page's own address (the organization switcher's form) repeats the query.
            page = response.content.decode().replace(f"{field.name}={pk}", "")
            if str(pk) in page:
                leaked[f"{url}?{field.name}="] = field.related_model._meta.label
    assert not leaked, leaked
    # The pages the probe found: a task's lead and deal, a consent's lead, a lead's company.
    assert checked >= 4


def test_a_raw_id_label_names_a_readable_row(client, org_a, rep_a):
    """The scoping keeps what the user may read: their own lead is named on the page."""
    lead_a = make_lead(org_a, company={"name": "Drip Drop Plumbing"}, assigned_to=rep_a)
    client.force_login(rep_a)
    response = client.get(f"{reverse('admin:crm_task_add')}?lead={lead_a.pk}")
    assert response.status_code == 200
    assert str(lead_a.pk) in response.content.decode()
    assert "Drip Drop Plumbing" in response.content.decode()


def test_saving_an_out_of_scope_row_is_the_error_of_an_unknown_one(client, org_a, rep_a, rep_a2):
    from crm.models import Task

    lead_a2 = make_lead(org_a, company={"name": "Sparky Electrics"}, assigned_to=rep_a2)

    client.force_login(rep_a)
    form = {
        "title": "Call them",
        "type": "call",
        "priority": "normal",
        "status": "open",
        "due_at_0": "",
        "due_at_1": "",
        "assigned_to": str(rep_a.pk),
        "lead": str(lead_a2.pk),
        "opportunity": "",
        "description": "",
    }
    response = client.post(reverse("admin:crm_task_add"), form)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert "Sparky Electrics" not in response.content.decode()
    with tenant_context(org_a):
        assert not Task.objects.exists()
