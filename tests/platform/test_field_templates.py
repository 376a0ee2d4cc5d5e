"""A model serializer's fields are built once per class and copied for each instance
(smartweb.api.field_templates): every serializer gets the fields DRF would build, and each
instance's fields are its own."""

from django.urls import get_resolver
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from leads.api.serializers import CompanySerializer, LeadSerializer
from leads.models import Company
from smartweb.api.serializers import ModelSerializer


def _every_model_serializer() -> list[type]:
    assert get_resolver().url_patterns  # imports every app's API, and so its serializers
    found, waiting = [], [ModelSerializer]
    while waiting:
        for sub in waiting.pop().__subclasses__():
            waiting.append(sub)
            if hasattr(sub, "Meta"):  # not a base of others
                found.append(sub)
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def _plain(value):
    """A value as plain data: objects by their type."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value), [_plain(item) for item in value]
    if isinstance(value, str | int | float | bool | type(None)):
        return value
    return type(value)


def _state(field) -> dict:
    # Less the order of declaration, which every copy of a declared field counts anew.
    return _plain({k: v for k, v in vars(field).items() if k != "_creation_counter"})


def _described(fields: dict) -> list[tuple]:
    return [(name, type(field), repr(field), _state(field)) for name, field in fields.items()]


def test_every_serializer_gets_the_fields_drf_builds():
    classes = _every_model_serializer()
    assert len(classes) > 30
    for cls in classes:
        ours, theirs = cls(), cls()
        stock = serializers.ModelSerializer.get_fields(theirs)
        # Twice: the first builds the templates, the second copies them.
        for _ in range(2):
            assert _described(cls().get_fields()) == _described(stock), cls
        for name, field in ours.fields.items():
            assert field.field_name == name and field.parent is ours, (cls, name)
            stock[name].bind(name, theirs)
            assert (field.source, field.source_attrs) == (
                stock[name].source,
                stock[name].source_attrs,
            )


def test_each_instance_has_fields_of_its_own():
    first, second = CompanySerializer(), CompanySerializer()
    for name, mine in first.fields.items():
        theirs = second.fields[name]
        assert mine is not theirs and (mine.parent, theirs.parent) == (first, second)
        assert mine.validators is not theirs.validators
    templates = CompanySerializer._field_templates
    assert all(t.parent is t.field_name is None for t in templates.values())

    # What one serializer changes on its fields stays with it.
    first.fields["name"].read_only = True
    first.fields["email"].validators.append(UniqueValidator(Company.objects.all()))
    later = CompanySerializer()
    assert later.fields["name"].read_only is False
    count = len(templates["email"].validators)
    assert len(later.fields["email"].validators) == len(second.fields["email"].validators) == count
    assert later.fields["email"].run_validation("a@b.example") == "a@b.example"


def test_a_field_holding_fields_is_copied_whole():
    first, second = LeadSerializer(), LeadSerializer()
    assert first.fields["allowed_transitions"].method_name == "get_allowed_transitions"
    mine, theirs = first.fields["company"], second.fields["company"]
    assert mine is not theirs
    assert mine.fields["name"] is not theirs.fields["name"]
    assert mine.fields["name"].parent is mine
