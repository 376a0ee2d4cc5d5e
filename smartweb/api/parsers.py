"""The API's one parser: JSON, through `smartweb.json_input` (depth and NUL checks, size
bounded by `DATA_UPLOAD_MAX_MEMORY_SIZE`). A body it refuses is a 400 naming where."""

from __future__ import annotations

from rest_framework import exceptions, parsers

from smartweb import json_input


def parse_json(body: bytes):
    """The JSON value of a request body, or the API's 400 (shared by the parser and the
    views that must read the raw body first, such as the signed webhook)."""
    try:
        return json_input.loads(body)
    except json_input.Refused as exc:
        raise exceptions.ValidationError({exc.path or "non_field_errors": [exc.reason]}) from exc
    except ValueError as exc:
        raise exceptions.ParseError(str(exc)) from exc


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (DRF hands it the body Django read, within its size limit),
    decoding with orjson and refusing what `json_input.check` refuses."""

    def parse(self, stream, media_type=None, parser_context=None):
        return parse_json(stream.read())
