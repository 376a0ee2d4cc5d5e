"""Rows load without Model.__init__ where that makes the same instance
(smartweb.loading): for every model of the project, whole or with deferred fields, the
instance is the one Django's own loading makes; a model with a signal receiver takes
Django's way."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models
from django.db.models.signals import post_init

from accounts.models import User
from leads.models import Lead
from smartweb.loading import QuickLoadModel, _plain_attnames, _row_attnames
from smartweb.tenancy.context import tenant_context
from tests.factories import make_organization
from tests.leads.factories import make_lead

MODELS = sorted(
    (model for model in apps.get_models() if issubclass(model, QuickLoadModel)),
    key=lambda model: model._meta.label,
)


def _djangos(model, field_names, values):
    return models.Model.from_db.__func__(model, "default", field_names, values)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_a_row_makes_the_instance_django_makes(model):
    attnames = [field.attname for field in model._meta.concrete_fields]
    # the whole row, then every second field deferred (the key kept), twice (kept sets)
    for field_names in (attnames, attnames[:1] + attnames[2::2], attnames[:1] + attnames[2::2]):
        values = tuple(object() for _ in field_names)
        _assert_same(
            model.from_db("default", field_names, values),
            _djangos(model, field_names, values),
        )


def _assert_same(quick, django) -> None:
    states = [vars(vars(instance).pop("_state")) for instance in (quick, django)]
    for state in states:  # made on first use (setting a reference reads it)
        assert state.pop("fields_cache", {}) == {}
    assert states[0] == states[1] == {"adding": False, "db": "default"}
    assert vars(quick) == vars(django)


def test_the_quick_way_serves_the_busy_models_and_a_lead_list_row():
    for model in (Lead, User):
        assert _plain_attnames(model), model
    listed = [name for name in _plain_attnames(Lead) if name != "score_breakdown"]
    assert _row_attnames(Lead, listed, len(listed)) == tuple(listed)


@pytest.mark.django_db
def test_a_signal_receiver_takes_djangos_way_and_deferred_fields_load_when_read():
    organization = make_organization()
    lead = make_lead(organization)
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    with tenant_context(organization):
        post_init.connect(receiver, sender=Lead)
        try:
            loaded = Lead.all_objects.get(pk=lead.pk)
        finally:
            post_init.disconnect(receiver, sender=Lead)
        assert seen == [loaded]
        partial = Lead.all_objects.only("id", "status").get(pk=lead.pk)
        assert "contact_name" in partial.get_deferred_fields()
        assert partial.contact_name == lead.contact_name


@pytest.mark.django_db
def test_a_loaded_row_reads_saves_and_follows_its_references_as_before():
    organization = make_organization()
    lead = make_lead(organization)
    with tenant_context(organization):
        loaded = Lead.all_objects.select_related("company").get(pk=lead.pk)
        assert loaded._state.adding is False and loaded._state.db == "default"
        assert loaded.company == lead.company and loaded.company._state.adding is False
        assert loaded.organization == organization  # a reference not joined is read
        loaded.notes = "Call after nine."
        loaded.save(update_fields=["notes"])
        assert Lead.all_objects.get(pk=lead.pk).notes == "Call after nine."
