"""Saving an admin change page unchanged writes nothing: the row keeps its version (what
the API's ETag is made of, so an API client's next conditional write still succeeds), no
history row is added, and its inlines' rows stay as they were.

Generic: a row of every tenant model admin whose change page the organization admin may
save, on an organization with a row in every table, posted back as a browser would."""

from __future__ import annotations

import re

import pytest

from accounts.models import Organization
from smartweb import access
from smartweb.rbac import Action
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import admin_client
from tests.crm import factories as crm_factories
from tests.factories import acting_as
from tests.html_forms import form_data
from tests.security.populate import populate_every_tenant_table
from tests.security.routes import tenant_admins

pytestmark = pytest.mark.django_db


def _stored(organization, model_admin, pk) -> dict:
    """The row's `updated_at` and history count, and its inlines' rows' `updated_at`."""
    model = model_admin.model
    with tenant_context(organization):
        row = model._base_manager.get(pk=pk)
        state = {"updated_at": getattr(row, "updated_at", None)}
        if hasattr(model, "history"):
            state["versions"] = row.history.count()
        for inline in model_admin.inlines:
            key = next(
                f.name
                for f in inline.model._meta.fields
                if f.is_relation and f.related_model is model
            )
            rows = inline.model._base_manager.filter(**{key: pk}).order_by("pk")
            state[inline.model._meta.label] = [
                (str(r.pk), getattr(r, "updated_at", None)) for r in rows
            ]
    return state


def _errors(response) -> list[str]:
    """The form's error messages, as the page lists them."""
    return re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S
    )


# The pages show and read times in the organization's zone (docs/decisions/0050): one
# far from UTC, and not a whole number of hours from it, reads each time back as it was.
@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Kathmandu"])
def test_an_unchanged_save_of_every_change_page_writes_nothing(time_zone):
    organization = populate_every_tenant_table("Alpha")
    Organization.objects.filter(pk=organization.pk).update(time_zone=time_zone)
    # The newest row of each model is saved: a draft proposal with lines of its own, whose
    # change page is editable (the populated one is sent) and reprices its lines on save.
    crm_factories.proposal(
        organization,
        crm_factories.opportunity(organization),
        lines=[crm_factories.line(), crm_factories.line("Hosting", "12", "9.99", tax="20")],
    )
    user = factories.make_member(organization, "org_admin")
    client = admin_client(user)
    saved, changed, refused = [], [], []
    for model, model_admin in tenant_admins():
        if not model._meta.managed:
            continue
        with acting_as(user, organization):
            rows = access.visible(user, Action.READ, model._default_manager.all())
            newest = [f.name for f in model._meta.fields if f.name == "created_at"]
            row = rows.order_by(*(f"-{name}" for name in newest), "pk").first()
        if row is None:
            continue
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{row.pk}/change/"
        page = client.get(url)
        body = page.content.decode()
        if page.status_code != 200 or 'name="_save"' not in body:
            continue  # read-only here: nothing to post back
        data = form_data(body, f"{model._meta.model_name}_form")
        data["_save"] = ["Save"]
        before = _stored(organization, model_admin, row.pk)
        response = client.post(url, data)
        if response.status_code != 302:
            refused.append(f"{url}: {response.status_code} {_errors(response)}")
            continue
        saved.append(url)
        after = _stored(organization, model_admin, row.pk)
        if after != before:
            changed.append(f"{url}: {before} -> {after}")
    assert not refused, "\n".join(refused)
    assert not changed, "\n".join(changed)
    assert len(saved) > 10, saved
