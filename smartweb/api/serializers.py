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
import difflib

import orjson
from django.core.validators import RegexValidator
from django.db import models
from django.utils.datastructures import MultiValueDict
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.relations import MANY_RELATION_KWARGS
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


# `ONE_LINE` refuses text holding a control character, a match the schema would state as
# the pattern every value must hold: the API checks the same rule as the pattern of the
# whole text, which the schema states as it is.
ONE_LINE_TEXT = RegexValidator(r"\A[^\x00-\x1f\x7f]*\Z", ONE_LINE.message, code=ONE_LINE.code)


class NameField(TextField):
    """A person's name: one line (`smartweb.validators.ONE_LINE`, as the user model's)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(ONE_LINE_TEXT)


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


# The items of one list named in its field's error; past them, how many more were refused.
MAX_ITEM_ERRORS = 5


class ListField(serializers.ListField):
    """A list checked for its length (`max_length`, the schema's `maxItems`) before its
    items, whose error names the first few items refused and counts the rest. DRF's checks
    every item first: 10,000 bad choices were answered with 10,000 messages (half a
    megabyte) before the length was looked at."""

    def run_child_validation(self, data):
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(_first_errors(exc.detail)) from None


class DictField(serializers.DictField):
    """A mapping checked for its number of keys (`max_keys`) before its values, whose
    error names the first few keys refused and counts the rest, as `ListField` does."""

    default_error_messages = {"max_keys": "Ensure this field has no more than {max_keys} keys."}

    def __init__(self, *, max_keys: int, **kwargs):
        self.max_keys = max_keys
        super().__init__(**kwargs)

    def run_child_validation(self, data):
        if len(data) > self.max_keys:
            self.fail("max_keys", max_keys=self.max_keys)
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(_first_errors(exc.detail)) from None


def _first_errors(errors: dict) -> dict:
    """The errors of the first `MAX_ITEM_ERRORS` items (by index or key), and a count of the
    rest."""
    shown = dict(list(errors.items())[:MAX_ITEM_ERRORS])
    more = len(errors) - len(shown)
    if more:
        shown["more"] = [f"{more} more items were refused."]
    return shown


# The most references one list takes (a lead's tags, the leads merged into one).
MAX_REFERENCES = 100


class PrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference by UUID. `""` is not read as null (DRF's related fields do): the
    schema says a UUID, or null where the field allows it. With `many=True`, a
    `ReferenceListField`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", serializers.UUIDField())
        super().__init__(**kwargs)

    @classmethod
    def many_init(cls, *args, max_length=MAX_REFERENCES, **kwargs):
        # DRF's many_init, building the bounded list below instead of its ManyRelatedField.
        list_kwargs = {"child_relation": cls(*args, **kwargs), "max_length": max_length}
        list_kwargs.update(
            (key, value) for key, value in kwargs.items() if key in MANY_RELATION_KWARGS
        )
        return ReferenceListField(**list_kwargs)

    def run_validation(self, data=empty):
        # RelatedField.run_validation turns "" into None; Field's reads it as it is.
        return serializers.Field.run_validation(self, data)


class ReferenceListField(serializers.ManyRelatedField):
    """A list of references: at most `max_length` (the schema's `maxItems`), each named
    once, all looked up in one query. DRF's list looks each id up on its own: 10,000 ids
    were 10,000 queries and minutes of a worker, however often the same id came."""

    default_error_messages = {
        "max_length": "Ensure this field has no more than {max_length} elements.",
    }

    def __init__(self, *, max_length: int, **kwargs):
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str | dict) or not hasattr(data, "__iter__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not self.allow_empty and len(data) == 0:
            self.fail("empty")
        if len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        child = self.child_relation
        ids = list(dict.fromkeys(_reference_id(child, item) for item in data))
        found = {row.pk: row for row in child.get_queryset().filter(pk__in=ids)}
        for pk in ids:
            if pk not in found:
                child.fail("does_not_exist", pk_value=pk)
        return [found[pk] for pk in ids]


def _reference_id(child: PrimaryKeyRelatedField, item):
    """The id `item` names, refused as `child` refuses it (before any query)."""
    if isinstance(item, bool):
        child.fail("incorrect_type", data_type=type(item).__name__)
    return child.pk_field.to_internal_value(item)


# The field a browser's form post carries Django's CSRF token in.
CSRF_FIELD = "csrfmiddlewaretoken"
# A hostile body (or query string) may name thousands of fields: a few are enough to see
# the mistake.
MOST_UNKNOWN_FIELDS_REPORTED = 20


class RefusesUnknownFields:
    """A JSON body naming a field the serializer does not have is refused, 400 at that
    field (with the nearest field's name when one is close), instead of being ignored: a
    misspelt `asigned_to` answered 200 would be a change the client believes made. A
    field the view answers with (`id`, `created_at`, where its output is another
    serializer) is known: a client may send back what it read. A form post (an upload)
    may also carry Django's CSRF token."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = [str(name)[:100] for name in data if name not in self.fields]
            if unknown:
                self._refuse_unknown(data, unknown)
        return super().to_internal_value(data)

    def _refuse_unknown(self, data: dict, unknown: list[str]) -> None:
        known = self.answered_fields()
        if isinstance(data, MultiValueDict):
            known.add(CSRF_FIELD)
        unknown = [name for name in unknown if name not in known]
        if unknown:
            raise serializers.ValidationError(
                {
                    name: [self.unknown_field_message(name)]
                    for name in unknown[:MOST_UNKNOWN_FIELDS_REPORTED]
                }
            )

    def answered_fields(self) -> set[str]:
        """The fields the view answers with in this serializer's place, which a body may
        send back unrefused."""
        answer = _answer_in_place_of(self)
        if answer is None or isinstance(self, type(answer)):
            return set()
        return set(answer.fields)

    def unknown_field_message(self, name: str) -> str:
        hint = nearest_name(name, self.fields)
        return f"Unknown field: there is no field of this name here.{hint}"


def nearest_name(name: str, names) -> str:
    """` Did you mean “…”?` naming the one of `names` closest to a name given that is not
    among them (a misspelling), or "" when none is close. A body's fields and a query's
    parameters (smartweb.api.declared_parameters) are answered alike."""
    nearest = difflib.get_close_matches(name, list(names), n=1)
    return f" Did you mean “{nearest[0]}”?" if nearest else ""


def _answer_in_place_of(serializer) -> serializers.BaseSerializer | None:
    """The serializer of the view's answer at the place `serializer` reads in the body:
    the answer's own for the body, its field of the same name for a nested one."""
    parent, name = serializer.parent, serializer.field_name
    if isinstance(parent, serializers.ListSerializer):  # a row of a nested list
        parent, name = parent.parent, parent.field_name
    if parent is None:
        view = serializer.context.get("view")
        answer_class = getattr(view, "serializer_class", None)
        return answer_class(context=serializer.context) if answer_class else None
    answer = _answer_in_place_of(parent)
    field = answer.fields.get(name) if answer is not None else None
    if isinstance(field, serializers.ListSerializer):
        field = field.child
    return field if isinstance(field, serializers.BaseSerializer) else None


class Serializer(RefusesUnknownFields, serializers.Serializer):
    """The apps' base for a body that is not one model's fields (see RefusesUnknownFields)."""


class ModelSerializer(RefusesUnknownFields, serializers.ModelSerializer):
    """The apps' base: model date times, decimals, text, booleans, integers and references
    through the fields above; unknown fields refused (RefusesUnknownFields)."""

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
