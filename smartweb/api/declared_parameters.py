"""A query parameter an API operation does not declare is refused, not ignored (ADR 0055):
`?staus=won` answered 200 with every lead is a list the client believes filtered. The
refusal is a 400 at the parameter's name, with the nearest declared one when one is close,
before anything is read or written.

What an operation takes is what its OpenAPI schema declares: the names are read from the
schema generator itself (smartweb.api.schema.AutoSchema: filters, `search`, `ordering`,
paging, `format`, a view's own), once per operation and process, so the refusal and the
schema cannot drift apart. Every view of the API checks through
smartweb.api.viewsets.DeclaredParametersOnly but those whose query strings others write
(the public form, the providers' callbacks)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import spectacular_settings
from rest_framework.exceptions import ValidationError

from smartweb.api.serializers import MOST_UNKNOWN_FIELDS_REPORTED, nearest_name

# The most of a made-up name an answer repeats.
NAME_SHOWN = 100


@functools.cache
def _operations() -> dict[tuple[Callable, str], tuple[str, str]]:
    """(the URL pattern's view, method) -> (path, path regex) of every operation the schema
    can list, as the generator enumerates them."""
    endpoints = SchemaGenerator.endpoint_inspector_cls().get_api_endpoints()
    operations: dict[tuple[Callable, str], tuple[str, str]] = {}
    for path, path_regex, method, callback in endpoints:
        operations.setdefault((callback, method), (path, path_regex))
    return operations


_GENERATING = threading.Lock()


@functools.cache
def declared(callback: Callable, method: str) -> frozenset[str] | None:
    """The query parameters the schema declares for the operation of `callback` (a URL
    pattern's view) and `method`; None for one it does not list (an OPTIONS, a method
    the route does not allow: DRF answers those as before)."""
    endpoint = _operations().get((callback, method))
    if endpoint is None:
        return None
    path, path_regex = endpoint
    # One at a time: the schema generator loads its extensions on first use, and two
    # threads of a worker doing so at once failed one request with a 500 (one thread read
    # an extension's target as the other cleared it). Once per operation and process.
    with _GENERATING:
        generator = SchemaGenerator()
        view = generator.create_view(callback, method)
        path = generator.coerce_path(path, method, view)
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, None)
        return view.schema.query_parameter_names(path, path_regex, method, generator.registry)


def unknown_parameter_message(name: str, known) -> str:
    hint = nearest_name(name, known)
    return f"Unknown parameter: there is no parameter of this name here.{hint}"


def refuse_undeclared_parameters(request) -> None:
    """A 400 naming each query parameter (the first 20) the operation does not declare."""
    match = getattr(request, "resolver_match", None)
    if match is None or not request.query_params:
        return
    method = "GET" if request.method == "HEAD" else request.method
    known = declared(match.func, method)
    if known is None:
        return
    unknown = [name[:NAME_SHOWN] for name in request.query_params if name not in known]
    if unknown:
        raise ValidationError(
            {
                name: [unknown_parameter_message(name, known)]
                for name in unknown[:MOST_UNKNOWN_FIELDS_REPORTED]
            }
        )
