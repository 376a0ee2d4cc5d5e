"""The OpenAPI schema says what the server does (`make fuzz` holds it to that).

`AutoSchema` is drf-spectacular's, with what every operation shares declared in one place:
- the error answers an operation can give, in the API's error shape (a view declares only
  those that follow from its own logic, e.g. `responses={429: ERROR}`), 412 and 428 where
  the operation honours `If-Match`;
- object ids in paths are UUIDs;
- a time of day is `HH:MM[:SS[.ffffff]]`, without the offset that JSON Schema's `time`
  format demands (a field that may be stored empty declares `""`: see
  smartweb.api.serializers.ModelSerializer);
- a filter given empty does not filter, which its parameter declares; a number filter's
  bounds are its parameter's;
- a view that reads one serializer and answers with another (`input_serializers`)
  documents each in its place;
- operations are grouped by resource (the path's first segment after `/api/v1/`), not
  all under `v1`;
- `format` is declared on every operation, with the formats its answers are documented
  in (the browsable API's links send it);
- a mapping's bound on its number of keys is its `maxProperties`.

The query parameters an operation declares are the only ones it takes: the API refuses
any other (smartweb.api.declared_parameters reads them here, `query_parameter_names`).
"""

from __future__ import annotations

import decimal

from django.core.validators import RegexValidator, URLValidator
from drf_spectacular import openapi
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import append_meta
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers
from rest_framework.settings import api_settings

from smartweb.api.serializers import DictField, RefusesUnknownFields

TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# DRF trims text with str.strip() and refuses it blank: a text that may not be blank holds
# a character that is not white space to Python (JSON Schema's \s is ECMA's, not Python's).
NOT_BLANK = r"[^\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
ANNOTATIONS = {"description", "title", "default", "example", "readOnly", "writeOnly"}
# Any JSON value but null: drf-spectacular's "any" (`{}`) lets null through.
ANY_BUT_NULL = {
    "anyOf": [{"type": kind} for kind in ("object", "array", "string", "number", "boolean")]
}


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `invalid`, `not_found`.")
    message = serializers.CharField()
    details = serializers.DictField(
        help_text="Per field messages (400), the allowed next states (409), or empty."
    )


class ErrorSerializer(serializers.Serializer):
    """Every refusal: `{"error": {"code", "message", "details"}}`."""

    error = ErrorBodySerializer()


ERROR = ErrorSerializer
ERROR_DESCRIPTIONS = {
    400: "Invalid input: `details` names each field's problems.",
    401: "Not authenticated, or the credentials are invalid.",
    403: "Not a member of the organization, or the role does not allow this.",
    404: "No such object among those you may see (or a page past the last).",
    409: "The object's state or the existing data does not allow this change (code"
    " `erased`: the lead's person was erased, and the lead and its rows are final).",
    412: "`If-Match` names a version that is no longer the object's: `details.current` is"
    " the object as it now is, the answer's `ETag` its version.",
    413: "The request body is larger than the server reads (`details` may say the limit).",
    415: "The body is not of a type this operation reads (JSON; multipart where it uploads).",
    422: "This `Idempotency-Key` was used for a different request; use a new key.",
    428: "`If-Match` is missing where the server requires it (`REQUIRE_IF_MATCH`).",
    503: "The database or the file storage cannot be reached right now; nothing was saved.",
}


class AutoSchema(openapi.AutoSchema):
    def get_tags(self) -> list[str]:
        # drf-spectacular tags by the first segment after the common prefix, which would
        # be `v1` for every operation; the operation ids keep their `v1_` (clients use them).
        segments = [s for s in self.path.split("/") if s]
        if segments[:2] == ["api", "v1"] and len(segments) > 2:
            return [segments[2]]
        return super().get_tags()

    def _error_statuses(self) -> list[int]:
        """The refusals every operation of this kind can give, whatever its view."""
        has_path = "{" in self.path
        has_query = any(p["in"] == "query" for p in self._get_parameters())
        authenticated = any(
            not isinstance(p, permissions.AllowAny) for p in self.view.get_permissions()
        )
        # Any operation: a query string with a NUL is refused before the view (400), and
        # the database may be out of reach (503).
        statuses = [400, 401, 503]
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += [413, 415]  # the body: its size, and its type
        if authenticated and self.method == "POST" and self._claims_idempotency_keys():
            statuses.append(422)
        if authenticated:
            statuses.append(403)
        if has_path or (has_query and self._is_list_view() and self._get_paginator()):
            statuses.append(404)
        if authenticated and self.method in WRITE_METHODS:
            statuses.append(409)
        changes_own_row = getattr(self.view, "changes_own_row", None)
        if authenticated and has_path and changes_own_row and changes_own_row(self.method):
            statuses += [412, 428]  # If-Match (ADR 0012)
        return sorted(statuses)

    def query_parameter_names(
        self, path: str, path_regex: str, method: str, registry
    ) -> frozenset[str] | None:
        """The names of the query parameters the operation declares, as `get_operation`
        lists them (the same attributes set first); None when the schema leaves the
        operation out."""
        self.registry = registry
        self.path, self.path_regex, self.path_prefix = path, path_regex, ""
        self.method = method.upper()
        if self.is_excluded():
            return None
        return frozenset(p["name"] for p in self._get_parameters() if p["in"] == "query")

    def _get_format_parameters(self):
        # drf-spectacular declares `format` where an answer has several documented
        # formats; DRF reads it on every operation, and the browsable API's pages send it.
        name = api_settings.URL_FORMAT_OVERRIDE
        formats = self.map_renderers("format")
        if not name or not formats:
            return []
        return [
            {
                "in": "query",
                "name": name,
                # Given empty, DRF reads no format, as a filter given empty does not filter.
                "schema": _or_empty({"type": "string", "enum": formats}),
                "description": "The answer's format (by default, what `Accept` asks for)."
                " The browsable API's own page, `api`, for a person in a browser, is taken"
                " too; it is no part of this schema.",
            }
        ]

    def _claims_idempotency_keys(self) -> bool:
        from smartweb.api.viewsets import OrganizationContextMixin  # the views import this

        return isinstance(self.view, OrganizationContextMixin)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if str(status) not in responses:
                answer = OpenApiResponse(ERROR, description=ERROR_DESCRIPTIONS[status])
                responses[str(status)] = self._get_response_for_code(
                    answer, str(status), direction=direction
                )
        return responses

    def get_response_serializers(self):
        view = self.view
        if getattr(view, "action", None) in getattr(view, "input_serializers", {}):
            return view.serializer_class  # what the view answers with (CRMViewSet.answer)
        return super().get_response_serializers()

    def get_filter_backends(self):
        # An action on one object (a lead's timeline, its duplicates) lists rows of its own:
        # the resource list's filters do not apply there.
        if "{" in self.path:
            return []
        return super().get_filter_backends()

    def _get_filter_parameters(self):
        # A filter given empty (`?until=`, as a filter form submits it) does not filter.
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            schema = parameter["schema"]
            if schema.get("type") not in ("string", "array") or {"format", "enum"} & set(schema):
                parameter["schema"] = _or_empty(schema)
        return parameters

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        lookup = getattr(self.view, "lookup_value_regex", None)
        for parameter in parameters:
            if lookup and parameter["schema"].get("pattern") == f"^{lookup}$":
                parameter["schema"] = {"type": "string", "format": "uuid"}
        return parameters

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, RefusesUnknownFields):
            schema["additionalProperties"] = False  # refused with a 400 at the field
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.JSONField) and not field.allow_null:
            if not set(schema) - ANNOTATIONS:  # any value: one that is not null
                schema = {**schema, **ANY_BUT_NULL}
        elif isinstance(field, serializers.DecimalField) and "pattern" in schema:
            schema["pattern"] = _decimal_pattern(field)
        elif isinstance(field, serializers.TimeField):
            schema.pop("format", None)
            schema.update(pattern=TIME_PATTERN, example="09:00:00")
        elif schema and schema.get("type") == "array":
            _array_bounds(schema, field)
        elif isinstance(field, DictField):
            schema["maxProperties"] = field.max_keys
        if direction == "request" and _trimmed_not_blank(field) and "pattern" not in schema:
            schema["pattern"] = NOT_BLANK
        if direction == "response" and field.field_name in _answered_null_to_some(field):
            schema = append_meta(schema, {"nullable": True})
        return schema


def _answered_null_to_some(field) -> tuple[str, ...]:
    """The fields of `field`'s serializer answered null to a reader who may not read the
    row they name (a member's role to a sales rep: accounts.api.serializers)."""
    return getattr(field.parent, "answered_null_to_some", ())


def _or_empty(schema: dict) -> dict:
    """A query parameter's schema that also takes the parameter given empty."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}]}


def _trimmed_not_blank(field) -> bool:
    """A text that may not be blank and has no pattern of its own (drf-spectacular states a
    regex validator's, e.g. an email's form, when it reads the validators, after this)."""
    return (
        isinstance(field, serializers.CharField)
        and field.trim_whitespace
        and not field.allow_blank
        and not field.read_only
        and not any(_states_pattern(v) for v in field.validators)
    )


def _states_pattern(validator) -> bool:
    # A URL validator is a regex validator that drf-spectacular states as `format: uri`.
    return isinstance(validator, RegexValidator) and not isinstance(validator, URLValidator)


def _decimal_pattern(field) -> str:
    """A decimal as text with at least one digit, signed only if it may be negative
    (drf-spectacular's pattern lets "", "-" and "-1" through where DRF refuses them), within
    the field's bounds: a pattern states a lower bound of 0 or of the smallest step (not
    zero) and an upper bound that is a power of ten; any other bound is an error here
    rather than a schema that says less than the server checks."""
    low, high = field.min_value, field.max_value
    places = field.decimal_places or 0
    whole = field.max_digits - places if field.max_digits else None
    step = decimal.Decimal(1).scaleb(-places)
    if low is not None and low not in (0, step):
        raise ValueError(f"{field!r}: a lower bound no pattern states")
    power = None
    if high is not None and (whole is None or high < 10**whole):
        power = len(str(int(high))) - 1
        if high != 10**power:
            raise ValueError(f"{field!r}: an upper bound no pattern states")
    fraction = rf"(\.\d{{0,{places}}})?" if places else ""
    if power is None:
        below = rf"\d{{1,{whole}}}" if whole else r"\d+"
    else:  # below 10**power, and 10**power itself
        below = rf"\d{{1,{power}}}" if power else "0"
    numbers = [below + fraction] + ([rf"\.\d{{1,{places}}}"] if places else [])
    if power is not None:
        numbers.insert(0, "1" + "0" * power + (rf"(\.0{{0,{places}}})?" if places else ""))
    sign = "" if low is not None else "-?"
    not_zero = r"(?![0.]*$)" if low == step and low else ""
    return rf"^{sign}{not_zero}({'|'.join(numbers)})$"


def _array_bounds(schema: dict, field) -> None:
    """The bounds of a list of rows or of related ids (DRF keeps them as attributes,
    which drf-spectacular does not read)."""
    low = getattr(field, "min_length", None) or (0 if getattr(field, "allow_empty", True) else 1)
    high = getattr(field, "max_length", None)
    if low:
        schema["minItems"] = max(low, schema.get("minItems", 0))
    if high is not None:
        schema["maxItems"] = min(high, schema.get("maxItems", high))


class FilterExtension(DjangoFilterExtension):
    """drf-spectacular's reading of the filter sets, with a number filter's bounds."""

    target_class = "smartweb.api.filters.FilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        bounds = {"minimum": "min_value", "maximum": "max_value"}
        for parameter in parameters:
            for keyword, argument in bounds.items():
                if filter_field.extra.get(argument) is not None:
                    parameter["schema"][keyword] = filter_field.extra[argument]
        return parameters


class OrganizationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "smartweb.api.authentication.OrganizationTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer swt_…` from POST /api/v1/auth/token/.",
        }
