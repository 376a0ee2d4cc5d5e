"""Serializer helpers shared by the apps' APIs: the project's ModelSerializer, whose date
times and decimals read out fast, and the JSON pass-through of listed summaries.

Input is read as strictly as the schema states it (`make fuzz` holds the two together):
DRF reads a number as text, `0`, `1`, `"yes"` or `"on"` as a boolean and `""` as no
reference, where the schema says a string, a boolean and a UUID. The fields below refuse
them; the ModelSerializer builds its fields from them, and a field declared by hand uses
them too."""

from __future__ import annotations

import datetime as dt
import decimal

import orjson
from django.core.validators import RegexValidator
from django.db import models
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import ISO_8601, api_settings

from smartweb.api import field_templates, row_reading
from smartweb.validators import ONE_LINE


class UTCDateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, whose output of an aware value skips the look-up of the
    current time zone (Django's thread-local, ~15 µs a value on the bench host: a third of
    serializing a page of leads). The API speaks UTC: settings.TIME_ZONE, and no request
    activates another one. Input, and any other format, is DRF's."""

    def to_representation(self, value):
        if (
            isinstance(value, dt.datetime)
            and value.tzinfo is not None
            and not hasattr(self, "timezone")
            and getattr(self, "format", api_settings.DATETIME_FORMAT).lower() == ISO_8601
        ):
            if value.tzinfo is not dt.UTC:
                value = value.astimezone(dt.UTC)
            # orjson writes a date time as isoformat() does, UTC as "Z": 0.3 µs, not 1.3.
            return orjson.dumps(value, option=orjson.OPT_UTC_Z)[1:-1].decode()
        return super().to_representation(value)


class TextOnlyMixin:
    """Text only: DRF's CharField and its kinds (slug, email) take a number for its digits,
    and its DecimalField a JSON number, where the schema says a string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StoredDecimalField(TextOnlyMixin, serializers.DecimalField):
    """DRF's DecimalField, whose output of a value already at the field's scale (every
    value read from its column) is its plain text as it is, without DRF's quantizing in a
    copied decimal context (~4 µs a value on the bench host): the same text."""

    def to_representation(self, value):
        if (
            isinstance(value, decimal.Decimal)
            and getattr(self, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
            and not (self.localize or self.normalize_output)
            and self.decimal_places
        ):
            text = f"{value:f}"
            if "." in text and len(text) - text.index(".") - 1 == self.decimal_places:
                return text
        return super().to_representation(value)


_ATOM = r"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_PATTERN = (
    rf"^{_ATOM}(\.{_ATOM})*@([a-zA-Z0-9]([a-zA-Z0-9-]{{0,61}}[a-zA-Z0-9])?\.)+[a-zA-Z]{{2,63}}$"
)
EMAIL_FORM = RegexValidator(EMAIL_PATTERN, "Enter a valid email address.")


class TextField(TextOnlyMixin, serializers.CharField):
    pass


class NameField(TextField):
    """A person's name: one line (`smartweb.validators.ONE_LINE`, as the user model's)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(ONE_LINE)


class SlugField(TextOnlyMixin, serializers.SlugField):
    pass


class EmailField(TextOnlyMixin, serializers.EmailField):
    """An address of the form the schema states (EMAIL_PATTERN): Django's validator also
    takes quoted local parts and address literals, and refuses a one-letter top-level
    domain that JSON Schema's `email` format takes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(EMAIL_FORM)


class BooleanField(serializers.BooleanField):
    """`true` or `false` only (`null` where the field allows it, which DRF checks before)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class IntegerField(serializers.IntegerField):
    """A JSON integer (or a number with no fraction, which JSON Schema counts as one):
    DRF's also takes text ("50", "50.0") and booleans, where the schema says an integer."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class PrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference by UUID. `""` is not read as null (DRF's related fields do): the
    schema says a UUID, or null where the field allows it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", serializers.UUIDField())
        super().__init__(**kwargs)

    def run_validation(self, data=empty):
        # RelatedField.run_validation turns "" into None; Field's reads it as it is.
        return serializers.Field.run_validation(self, data)


class ModelSerializer(serializers.ModelSerializer):
    """The apps' base: model date times, decimals, text, booleans, integers and references
    through the fields above."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        # Every integer column (small, big, positive) through the strict field.
        **{
            column: IntegerField
            for column, field in serializers.ModelSerializer.serializer_field_mapping.items()
            if field is serializers.IntegerField
        },
        models.BooleanField: BooleanField,
        models.CharField: TextField,
        models.TextField: TextField,
        models.SlugField: SlugField,
        models.EmailField: EmailField,
        models.DateTimeField: UTCDateTimeField,
        models.DecimalField: StoredDecimalField,
    }
    serializer_related_field = PrimaryKeyRelatedField

    def get_fields(self):
        # Built once per class, copied per instance (field_templates); the URL field's
        # name is set on each instance, as DRF's get_fields sets it.
        if self.url_field_name is None:
            self.url_field_name = api_settings.URL_FIELD_NAME
        return field_templates.fields_of(self, super().get_fields)

    def to_representation(self, instance):
        # The same output as DRF's, read by a plan made once per serializer (row_reading).
        return row_reading.represent(self, instance)

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        # DRF drops `allow_blank` from a field made read-only; a stored "" is still answered,
        # and the schema must say so (an empty choice, an email or URL that may be "").
        allow_blank = kwargs.get("allow_blank", False)
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if allow_blank and kwargs.get("read_only"):
            kwargs["allow_blank"] = True
        return kwargs


# Fields whose API form is the value itself, as PostgreSQL's JSON also renders it (text,
# numbers, booleans, JSON). Dates and decimals are not: their API text differs.
JSON_NATIVE_FIELDS = (
    serializers.BooleanField,
    serializers.CharField,
    serializers.ChoiceField,
    serializers.IntegerField,
    serializers.JSONField,
    serializers.UUIDField,
)


class ListedSummarySerializer(ModelSerializer):
    """A nested summary that lists read as a JSON object of exactly its fields, built in
    the page query (`JSONObject`): that object is already in API form and is returned as
    it is; a model instance (a row read alone) is serialized as usual.

    Only fields of JSON-native types may be listed, which the first use checks."""

    def to_representation(self, instance):
        if isinstance(instance, dict):
            self._check_json_native()
            return instance
        return super().to_representation(instance)

    def _check_json_native(self) -> None:
        cls = type(self)
        if "_json_native" in cls.__dict__:
            return
        others = [
            name for name, field in self.fields.items() if not isinstance(field, JSON_NATIVE_FIELDS)
        ]
        if others:
            raise TypeError(f"{cls.__name__} cannot pass JSON through, for {others}")
        cls._json_native = True
