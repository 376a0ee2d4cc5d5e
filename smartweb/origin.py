"""Where the current unit of work comes from: a request (its id, client address and user
agent), a background job or a management command. History rows, the security audit log
and every log line carry it.

- `client_ip(request)`: the client's address through `TRUSTED_PROXY_COUNT` proxies. With
  none trusted, `X-Forwarded-For` is ignored (anyone can send it); with N trusted, the
  N-th entry from the right is the address the outermost trusted proxy saw. Every place
  that needs the client's address uses this one function.
- `client_network(request)`: what a per-client limit counts (rate limits, login locks):
  the IPv4 address, or the /64 network of an IPv6 address.
- `RequestOriginMiddleware` (first in MIDDLEWARE): keeps a well-formed incoming
  `X-Request-ID` or makes one, answers it in the response's `X-Request-ID`, and holds the
  origin for the request's code.
- `job_origin`, `command_origin`: the same for work with no request (no address).
- `RequestIdLogFilter`: puts the request id in every log record (`%(request_id)s`).
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a few separators, as proxies and tracing systems make them; anything
# else (spaces, control characters, an overlong value) is replaced by an id of our own.
_WELL_FORMED_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
USER_AGENT_MAX_LENGTH = 400


@dataclass(frozen=True)
class Origin:
    request_id: str = ""
    ip_address: str | None = None
    user_agent: str = ""


_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar(
    "smartweb_origin",
    default=Origin(),  # noqa: B039  (frozen: sharing the default instance is safe)
)


def current_origin() -> Origin:
    return _origin.get()


def _new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


@contextmanager
def running_as(origin: Origin) -> Iterator[Origin]:
    token = _origin.set(origin)
    try:
        yield origin
    finally:
        _origin.reset(token)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address: `REMOTE_ADDR`, or through `TRUSTED_PROXY_COUNT` proxies the
    entry of `X-Forwarded-For` that the outermost trusted proxy appended."""
    if request is None:
        return None
    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR") or ""
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return _valid_ip(remote)
    forwarded = [e for e in (meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if e.strip()]
    # Each trusted proxy appends the address it received from; entries further left were
    # written by the client and prove nothing.
    chain = [*forwarded, remote]
    return _valid_ip(chain[max(0, len(chain) - 1 - trusted)])


# An IPv6 client is given a whole /64 (every LAN is one) and may send from any of its
# 2^64 addresses: a limit counted per address would never be reached (ADR 0058).
CLIENT_IPV6_PREFIX = 64


def client_network(request) -> str | None:
    """The client as a per-client limit counts it: its IPv4 address (an IPv4-mapped IPv6
    one as IPv4, as a dual-stack socket reports it), or its IPv6 address's /64 network
    written as that network's first address."""
    found = client_ip(request)
    if found is None:
        return None
    address = ipaddress.ip_address(found)
    if address.version == 4:
        return found
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/{CLIENT_IPV6_PREFIX}", strict=False)[0])


def user_agent(request) -> str:
    meta = getattr(request, "META", {}) if request is not None else {}
    return (meta.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX_LENGTH]


def request_origin(request) -> Origin:
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    return Origin(
        request_id=incoming if _WELL_FORMED_REQUEST_ID.fullmatch(incoming) else _new_id(),
        ip_address=client_ip(request),
        user_agent=user_agent(request),
    )


class RequestOriginMiddleware:
    """First middleware: the whole request, redirects and errors included, has its id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with running_as(request_origin(request)) as origin:
            request.request_id = origin.request_id
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = origin.request_id
        return response


@contextmanager
def job_origin(job_id, task_name: str) -> Iterator[Origin]:
    """A background job: its id (`job:<task>:<procrastinate job id>`), no address."""
    with running_as(Origin(request_id=f"job:{task_name}:{job_id}")) as origin:
        yield origin


@contextmanager
def command_origin(name: str) -> Iterator[Origin]:
    """A management command run: `command:<name>:<random>`, no address."""
    with running_as(Origin(request_id=_new_id(f"command:{name}:"))) as origin:
        yield origin


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record ('-' outside any request, job or command).

    Django logs a refused or failed request (`django.request`) after the middleware has
    returned; such records carry the request, and its id is read from there."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.request_id = (
            getattr(request, "request_id", None) or current_origin().request_id or "-"
        )
        return True
