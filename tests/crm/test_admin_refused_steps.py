"""A deal's step, the convert page and a history page's revert, refused by the services or
by a concurrent change, show the same form again with what was typed and why (at the field
the refusal names, above the form otherwise), answered 200, and nothing is written; as a
refused change form does. Who may not take the step gets the 403, another organization
the 404."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.urls import reverse

from crm import services
from crm.choices import OpportunityStatus
from crm.models import Opportunity
from smartweb import outage
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.concurrency import second_connection, short_lock_timeout
from tests.crm import factories as crm_factories
from tests.html_forms import form_data

# The id of a history page's form (simple-history names it after the history model).
FORM_ID = "historicalopportunity_form"
TYPED_REASON = "They went with the cheaper quote from the roofer next door"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sales():
    """A committed organization (another session must see its rows), its admin and an
    open deal of theirs."""
    organization = factories.make_organization("Refused Steps")
    admin = factories.org_admin(organization)
    return organization, admin, crm_factories.opportunity(organization, owner=admin)


def _step(deal, name: str) -> str:
    return reverse("admin:crm_opportunity_step", args=[deal.pk, name])


def _stored(organization, deal) -> Opportunity:
    with tenant_context(organization):
        return Opportunity.objects.get(pk=deal.pk)


@contextmanager
def _held(organization, deal):
    """The deal's row locked by another session meanwhile (the request's wait cut short)."""
    with second_connection(organization) as other, other.transaction(), short_lock_timeout():
        other.execute("SELECT id FROM crm_opportunity WHERE id = %s FOR UPDATE", [deal.pk])
        yield


def test_marking_lost_while_another_change_holds_the_deal_keeps_the_reason(client, sales):
    organization, admin, deal = sales
    client.force_login(admin)
    with _held(organization, deal):
        answer = client.post(_step(deal, "lost"), {"reason": TYPED_REASON})
    assert answer.status_code == 200
    form = answer.context["form"]
    assert form.errors == {"__all__": [outage.LOCK_TIMEOUT_MESSAGE]}
    assert form["reason"].value() == TYPED_REASON and TYPED_REASON in answer.content.decode()
    assert _stored(organization, deal).status == OpportunityStatus.OPEN
    # Sent again, the other change done: marked lost, with the reason typed.
    assert client.post(_step(deal, "lost"), {"reason": TYPED_REASON}).status_code == 302
    lost = _stored(organization, deal)
    assert lost.status == OpportunityStatus.LOST and lost.lost_reason == TYPED_REASON


def test_a_step_a_colleague_made_impossible_meanwhile_keeps_the_input(client, sales):
    organization, admin, deal = sales
    client.force_login(admin)
    assert client.get(_step(deal, "lost")).status_code == 200  # the form opened
    with tenant_context(organization):
        services.opportunity_move_stage(
            opportunity=deal, stage=deal.pipeline.stage_flagged("is_won"), acting_user=None
        )
    answer = client.post(_step(deal, "lost"), {"reason": TYPED_REASON})
    assert answer.status_code == 200
    form = answer.context["form"]
    assert form.errors == {"__all__": ["“Mark lost” is not possible now."]}
    assert form["reason"].value() == TYPED_REASON
    assert _stored(organization, deal).status == OpportunityStatus.WON


def test_a_refused_step_still_refuses_who_may_not_take_it_and_other_organizations(client, sales):
    organization, _, deal = sales
    client.force_login(factories.make_member(organization, "read_only"))
    assert client.post(_step(deal, "lost"), {"reason": TYPED_REASON}).status_code == 403
    client.force_login(factories.org_admin(factories.make_organization("Elsewhere")))
    assert client.post(_step(deal, "lost"), {"reason": TYPED_REASON}).status_code == 404
    assert _stored(organization, deal).status == OpportunityStatus.OPEN


def test_converting_a_lead_the_services_refuse_shows_the_refusal_at_its_field(client, sales):
    organization, admin, _ = sales
    lead = crm_factories.qualified_lead(organization)
    client.force_login(admin)
    url = reverse("admin:crm_opportunity_convert")
    data = {"lead": lead.pk, "name": "Roof repair site", "value": "1200", "currency": "E1"}
    answer = client.post(url, {**data, "owner": admin.pk})
    assert answer.status_code == 200
    form = answer.context["form"]
    assert form.errors == {"currency": ["Use a three-letter ISO 4217 currency code."]}
    assert form["name"].value() == "Roof repair site"
    with tenant_context(organization):
        assert not Opportunity.objects.filter(lead=lead).exists()


def _change(deal) -> str:
    return reverse("admin:crm_opportunity_change", args=[deal.pk])


def test_a_change_the_services_refuse_at_a_field_is_shown_at_that_field(client, sales):
    organization, admin, deal = sales
    crm_factories.proposal(organization, deal)  # in the deal's currency, EUR
    client.force_login(admin)
    data = form_data(client.get(_change(deal)).content.decode(), "opportunity_form")
    data.update(name=["Roof repair site"], currency=["USD"])
    answer = client.post(_change(deal), data)
    assert answer.status_code == 200
    form = answer.context["adminform"].form
    assert form.errors == {"currency": ["The opportunity has proposals in another currency."]}
    assert form["name"].value() == "Roof repair site"
    assert 'class="form-row errors field-currency"' in answer.content.decode()
    stored = _stored(organization, deal)
    assert (stored.name, stored.currency) == (deal.name, "EUR")


def _first_version(organization, deal):
    with tenant_context(organization):
        return deal.history.order_by("history_date").first().history_id


def _revert(deal, version) -> str:
    return reverse("admin:crm_opportunity_simple_history", args=[deal.pk, version])


def _reverted_form(client, deal, version) -> dict[str, list[str]]:
    """The version's form as a browser posts it."""
    page = client.get(_revert(deal, version))
    assert page.status_code == 200
    return form_data(page.content.decode(), FORM_ID)


@pytest.fixture
def renamed(client, sales):
    """The deal renamed since its first version, whose revert form the admin (logged in
    on `client`) has open: (organization, deal, version, the form as a browser posts it)."""
    organization, admin, deal = sales
    with tenant_context(organization):
        services.opportunity_update(opportunity=deal, acting_user=None, name="Renamed")
    version = _first_version(organization, deal)
    client.force_login(admin)
    return organization, deal, version, _reverted_form(client, deal, version)


def test_a_revert_saves_the_version_back(client, renamed):
    organization, deal, version, data = renamed
    assert client.post(_revert(deal, version), data).status_code == 302
    assert _stored(organization, deal).name == deal.name


def test_a_revert_the_services_refuse_keeps_the_form_with_the_refusal_at_its_field(client, sales):
    organization, admin, deal = sales
    with tenant_context(organization):
        services.opportunity_update(opportunity=deal, acting_user=None, currency="USD")
    crm_factories.proposal(organization, _stored(organization, deal))  # in USD
    version = _first_version(organization, deal)  # in EUR
    client.force_login(admin)
    data = _reverted_form(client, deal, version)
    data["name"] = ["Roof repair site"]
    answer = client.post(_revert(deal, version), data)
    assert answer.status_code == 200
    form = answer.context["adminform"].form
    assert form.errors == {"currency": ["The opportunity has proposals in another currency."]}
    assert form["name"].value() == "Roof repair site"
    stored = _stored(organization, deal)
    assert (stored.name, stored.currency) == (deal.name, "USD")


def test_a_revert_while_another_change_holds_the_deal_keeps_the_input(client, renamed):
    organization, deal, version, data = renamed
    with _held(organization, deal):
        answer = client.post(_revert(deal, version), data)
    assert answer.status_code == 200
    form = answer.context["adminform"].form
    assert form.non_field_errors() == [outage.LOCK_TIMEOUT_MESSAGE]
    assert form["name"].value() == deal.name
    assert _stored(organization, deal).name == "Renamed"
    # Sent again, the other change done: the version is saved back.
    assert client.post(_revert(deal, version), data).status_code == 302
    assert _stored(organization, deal).name == deal.name


def test_a_revert_after_another_change_is_refused_as_stale_with_the_input(client, renamed):
    organization, deal, version, data = renamed
    with tenant_context(organization):
        services.opportunity_update(
            opportunity=_stored(organization, deal), acting_user=None, name="Renamed again"
        )
    answer = client.post(_revert(deal, version), data)
    assert answer.status_code == 200
    [error] = answer.context["adminform"].form.non_field_errors()
    assert "was changed" in error and "Renamed again" in error
    assert _stored(organization, deal).name == "Renamed again"
    # Sent again, knowingly: the version is saved back over that change.
    data = form_data(answer.content.decode(), FORM_ID)
    assert client.post(_revert(deal, version), data).status_code == 302
    assert _stored(organization, deal).name == deal.name


def test_a_revert_sent_twice_saves_once_and_answers_both_as_saved(client, renamed):
    organization, deal, version, data = renamed
    with tenant_context(organization):
        versions = deal.history.count()
    first = client.post(_revert(deal, version), data)
    again = client.post(_revert(deal, version), data)
    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"]
    assert _stored(organization, deal).name == deal.name
    with tenant_context(organization):
        assert deal.history.count() == versions + 1


def test_a_revert_refuses_who_may_not_change_the_deal_and_other_organizations(client, renamed):
    organization, deal, version, data = renamed
    client.force_login(factories.make_member(organization, "read_only"))
    assert client.post(_revert(deal, version), data).status_code == 403
    client.force_login(factories.org_admin(factories.make_organization("Elsewhere")))
    assert client.post(_revert(deal, version), data).status_code == 404
    assert _stored(organization, deal).name == "Renamed"
