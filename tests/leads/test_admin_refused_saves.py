"""A lead's change form whose save is refused shows the same form again, as it was posted
(its inline rows too), with the reason at the field it names (above the form when it
names none of the form's), answered 200 as a validation error is; and nothing of the save
is written. Refused are: a save the services refuse, one that
waited past the lock timeout for the lead another change holds, and one that lost a
deadlock to a concurrent change."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads import services
from leads.models import Lead, LeadTag
from smartweb import outage
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.concurrency import real_deadlock, second_connection, short_lock_timeout
from tests.html_forms import form_data
from tests.leads.factories import TagFactory, make_lead

TYPED_NOTE = "Call back after the quote, ask for Dana"


@pytest.fixture
def sales():
    """A committed organization (another session must see its rows), its admin, a lead
    and a tag."""
    organization = factories.make_organization("Refused Saves")
    lead = make_lead(organization, contact_name="Dana Drip", notes="first call booked")
    with tenant_context(organization):
        tag = TagFactory(organization=organization, name="hot")
    return organization, factories.org_admin(organization), lead, tag


def _change_url(lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


def _typed(client, lead, tag, **changes) -> dict[str, list[str]]:
    """The lead's form as its page shows it, with a note typed, a tag row added and
    `changes`."""
    page = client.get(_change_url(lead))
    assert page.status_code == 200
    data = form_data(page.content.decode(), "lead_form")
    data["notes"] = [TYPED_NOTE]
    data[f"{_tags_formset(page).prefix}-0-tag"] = [str(tag.pk)]  # the inline's blank row
    return {**data, **{name: [value] for name, value in changes.items()}}


def _tags_formset(page):
    """The lead's tag rows on a page (the inline)."""
    inlines = page.context["inline_admin_formsets"]
    return next(inline.formset for inline in inlines if inline.formset.model is LeadTag)


def _stored(organization, lead) -> tuple:
    with tenant_context(organization):
        row = Lead.all_objects.get(pk=lead.pk)
        tags = LeadTag.objects.filter(lead=lead).count()
        return row.notes, row.status, row.updated_at, row.history.count(), tags


def _assert_shown_again(answer, message: str, tag=None, field: str | None = None) -> None:
    """The form again, the input as posted (with `tag` chosen in the inline's blank row),
    the refusal at `field`, or above the form."""
    assert answer.status_code == 200
    form = answer.context["adminform"].form
    assert form.is_bound
    if field is None:
        assert form.non_field_errors() == [message] and list(form.errors) == ["__all__"]
    else:
        assert form.errors == {field: [message]}
    assert form["notes"].value() == TYPED_NOTE
    if tag is not None:
        tags = _tags_formset(answer)
        assert tags.is_bound and tags.forms[0]["tag"].value() == str(tag.pk)
    page = answer.content.decode()
    assert message.replace("'", "&#x27;") in page
    assert TYPED_NOTE in page


@pytest.mark.django_db(transaction=True)
def test_a_lead_the_services_refuse_shows_the_form_as_typed_and_adds_nothing(client, sales):
    organization, admin, lead, _ = sales
    client.force_login(admin)
    page = client.get(reverse("admin:leads_lead_add"))
    data = form_data(page.content.decode(), "lead_form")
    data.update(
        company=[str(lead.company_id)],
        contact_name=["Second Contact"],
        notes=[TYPED_NOTE],
        allow_duplicate=["on"],
    )
    answer = client.post(reverse("admin:leads_lead_add"), data)
    _assert_shown_again(answer, "This company already has a lead.", field="company")
    assert 'class="form-row errors field-company"' in answer.content.decode()
    assert answer.context["adminform"].form["contact_name"].value() == "Second Contact"
    with tenant_context(organization):
        assert list(Lead.all_objects.values_list("pk", flat=True)) == [lead.pk]


@pytest.mark.django_db(transaction=True)
def test_a_save_that_waits_out_the_lock_of_another_change_keeps_the_input(client, sales):
    organization, admin, lead, tag = sales
    before = _stored(organization, lead)
    client.force_login(admin)
    data = _typed(client, lead, tag)
    with (
        second_connection(organization) as other,
        other.transaction(),
        short_lock_timeout(),
    ):
        other.execute("SELECT id FROM leads_lead WHERE id = %s FOR UPDATE", [lead.pk])
        answer = client.post(_change_url(lead), data)
    _assert_shown_again(answer, outage.LOCK_TIMEOUT_MESSAGE, tag)
    assert _stored(organization, lead) == before
    # Posted again from the page shown (its version kept), the lock gone: saved.
    again = client.post(_change_url(lead), form_data(answer.content.decode(), "lead_form"))
    assert again.status_code == 302
    with tenant_context(organization):
        assert Lead.objects.get(pk=lead.pk).notes == TYPED_NOTE
        assert list(LeadTag.objects.filter(lead=lead).values_list("tag", flat=True)) == [tag.pk]


@pytest.mark.django_db(transaction=True)
def test_a_save_that_loses_a_deadlock_keeps_the_input(client, sales, monkeypatch):
    organization, admin, lead, tag = sales
    before = _stored(organization, lead)
    deadlock = real_deadlock()
    update = services.lead_update

    def deadlocked(**kwargs):
        update(**kwargs)  # written, then lost to the concurrent change
        raise deadlock

    monkeypatch.setattr(services, "lead_update", deadlocked)
    client.force_login(admin)
    answer = client.post(_change_url(lead), _typed(client, lead, tag))
    _assert_shown_again(answer, outage.CONFLICT_MESSAGE, tag)
    assert _stored(organization, lead) == before


@pytest.mark.django_db(transaction=True)
def test_a_refused_save_still_refuses_who_may_not_post_and_other_organizations(client, sales):
    organization, admin, lead, tag = sales
    client.force_login(admin)
    data = _typed(client, lead, tag)
    reader = factories.make_member(organization, "read_only")
    client.force_login(reader)
    assert client.post(_change_url(lead), data).status_code == 403
    stranger = factories.org_admin(factories.make_organization("Elsewhere"))
    client.force_login(stranger)
    assert client.post(_change_url(lead), data).status_code == 404
    assert client.get(_change_url(lead)).status_code == 404
