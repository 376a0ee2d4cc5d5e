"""Server-side request forgery guard for the URLs the server calls on someone's say-so
(webhook endpoints, identity providers): they must lead to the public internet.

A URL is checked when it is saved (`check_url`: its shape, and every address its host
resolves to), and again when the server connects (`session`): the connection is made to
the addresses just resolved and checked, not to whatever a second look-up would answer,
so a name made to resolve elsewhere later (DNS rebinding) reaches nothing inside, nor
does a redirect. One non-public address among public ones is enough to refuse.

Each caller's setting (WEBHOOK_ALLOW_PRIVATE_ADDRESSES, SSO_ALLOW_PRIVATE_ADDRESSES) lifts
the address check for local development and tests; the URL's shape is checked always.

Every request through such a session has a total deadline, its `timeout` (connect and
read added up when it is a pair): connecting, sending and the whole answer (the status
and headers of a streamed one, the body too of one that is not). The `timeout` of
`requests` bounds each socket operation alone, so a peer trickling its answer a byte at
a time would hold the caller (the single job worker) for ever; at the deadline the
connection is shut and the request fails with TotalTimeout (docs/decisions/0040).
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

SCHEMES = ("http", "https")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes whose last 32 bits are an IPv4 address the packets end up at: SIIT
# (RFC 6145), IPv4-compatible (RFC 4291, deprecated) and the well-known NAT64 prefix
# (RFC 6052). IPv4-mapped (::ffff:0:0/96), 6to4 and Teredo have their own properties.
LAST_32_BITS_IPV4 = tuple(
    ipaddress.IPv6Network(prefix) for prefix in ("::ffff:0:0:0/96", "::/96", "64:ff9b::/96")
)
# NAT64 for local use (RFC 8215): never globally reachable, and where its translator
# puts the IPv4 address within it is each network's own choice, so it cannot be judged.
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


class RefusedURL(ValueError):
    """The URL is malformed, or leads somewhere the server must not call; the message
    says which."""


def check_shape(url: str) -> tuple[str, int]:
    """The (host, port) of a well-formed http(s) URL without credentials, or RefusedURL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedURL(f"Not a valid URL: {exc}.") from exc
    if parts.scheme not in SCHEMES:
        raise RefusedURL("The URL must start with http:// or https://.")
    if not parts.hostname:
        raise RefusedURL("The URL has no host name.")
    if parts.username or parts.password:
        raise RefusedURL("The URL must not carry a user name or password.")
    # urlsplit drops tabs and line breaks silently: what it judged would not be what is
    # stored, shown in messages and sent.
    if any(character.isspace() or not character.isprintable() for character in url):
        raise RefusedURL("The URL must not contain spaces or control characters.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, which is where its packets go."""
    if address.ipv4_mapped:
        return [address.ipv4_mapped]
    if address.sixtofour:
        return [address.sixtofour]
    if address.teredo:
        return list(address.teredo)  # the relay server and the client
    if any(address in network for network in LAST_32_BITS_IPV4):
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def is_public(address: IPAddress) -> bool:
    """Is `address` on the public internet? For IPv6, each IPv4 address it embeds must
    be too: Python's `is_global` calls ::127.0.0.1 or 2002:7f00:1:: global."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in LOCAL_NAT64:
            return False
        if not all(is_public(inner) for inner in embedded_ipv4(address)):
            return False
    return address.is_global and not address.is_multicast


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, each checked; RefusedURL when the name does not
    resolve or any address is not public."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedURL(f"The host name {host} does not resolve.") from exc
    addresses: list[str] = []
    for *_, sockaddr in infos:
        text = sockaddr[0]
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not is_public(address):
            raise RefusedURL(
                f"{host} resolves to {address}, which is not a public address:"
                " the server calls addresses on the internet only."
            )
        if text not in addresses:
            addresses.append(text)
    return addresses


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse (RefusedURL) a malformed URL, or one whose host resolves to any loopback,
    private, link-local or otherwise non-public address (unless `allow_private`)."""
    host, port = check_shape(url)
    if not allow_private:
        public_addresses(host, port)


class TotalTimeout(requests.Timeout):
    """The peer did not answer completely within the request's total deadline."""


class _Deadline:
    """The end of the current request: at it, every socket the request uses is shut down
    (from a timer thread), which ends any read or write blocked on it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return max(self.ends - time.monotonic(), 0.0)

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` at the deadline. Through a duplicate of its descriptor (shutting
        it down shuts the socket itself), which stays valid when TLS takes the socket
        over or the connection closes it."""
        watched = socket.socket(fileno=_dup(sock))
        with self._lock:
            self._watched.append(watched)
            if self.expired:
                _shut(watched)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for watched in self._watched:
                _shut(watched)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            for watched in self._watched:
                watched.close()
            self._watched.clear()


def _dup(sock: socket.socket) -> int:
    return os.dup(sock.fileno())


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):  # already closed by the peer or by the request
        sock.shutdown(socket.SHUT_RDWR)


_deadline: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar(
    "smartweb_outbound_deadline", default=None
)


def _total_seconds(timeout) -> float | None:
    """A request's total deadline from its `timeout`: the number, or the pair's sum."""
    if isinstance(timeout, tuple):
        if any(part is None for part in timeout):
            return None
        return float(sum(timeout))
    return float(timeout) if timeout is not None else None


@contextmanager
def _within(seconds: float | None, request) -> Iterator[None]:
    if seconds is None:
        yield
        return
    deadline = _Deadline(seconds)
    token = _deadline.set(deadline)
    try:
        with deadline:
            yield
    except (requests.RequestException, OSError) as exc:
        if deadline.expired and not isinstance(exc, TotalTimeout):
            raise TotalTimeout(
                f"No complete answer within {seconds:g} s (connection, request and answer"
                " together).",
                request=request,
            ) from exc
        raise
    finally:
        _deadline.reset(token)


class _DeadlineConnection:
    """Connects within what is left of the request's deadline, and has its socket shut
    at the deadline, a new connection or one reused from the pool alike."""

    def _new_conn(self):
        deadline = _deadline.get()
        if deadline is not None:
            left = deadline.remaining()
            if left <= 0:
                raise ConnectTimeoutError(self, "The request's deadline passed.")
            self.timeout = left if self.timeout is None else min(self.timeout, left)
        sock = super()._new_conn()
        if deadline is not None:
            deadline.watch(sock)
        return sock

    def request(self, *args, **kwargs):
        deadline = _deadline.get()
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().request(*args, **kwargs)


class _CheckedConnection:
    """Connects to the addresses its host resolves to once all are checked: no second
    look-up happens between the check and the connection. TLS still names the host."""

    def _new_conn(self):
        name = self._dns_host
        failure = None
        for address in public_addresses(name, self.port):
            self._dns_host = address
            try:
                return super()._new_conn()
            except (NewConnectionError, ConnectTimeoutError) as exc:
                failure = exc  # try the next address, as a resolver's list is meant
            finally:
                self._dns_host = name
        raise failure


# Checked first: each address it tries is connected to within the deadline.
class _CheckedHTTPConnection(_CheckedConnection, _DeadlineConnection, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnection, _DeadlineConnection, HTTPSConnection):
    pass


class _DeadlineHTTPConnection(_DeadlineConnection, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_DeadlineConnection, HTTPSConnection):
    pass


def _pool(base, connection_cls):
    return type(f"{connection_cls.__name__}Pool", (base,), {"ConnectionCls": connection_cls})


class _DeadlineAdapter(HTTPAdapter):
    """Each request within its total deadline (see the module)."""

    pool_classes = {
        "http": _pool(HTTPConnectionPool, _DeadlineHTTPConnection),
        "https": _pool(HTTPSConnectionPool, _DeadlineHTTPSConnection),
    }

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self.pool_classes)

    def send(self, request, stream=False, timeout=None, **kwargs):
        with _within(_total_seconds(timeout), request):
            response = super().send(request, stream=stream, timeout=timeout, **kwargs)
            if not stream:
                response.content  # noqa: B018  (the whole body, within the deadline)
        return response


class _CheckedAdapter(_DeadlineAdapter):
    """And to public addresses only."""

    pool_classes = {
        "http": _pool(HTTPConnectionPool, _CheckedHTTPConnection),
        "https": _pool(HTTPSConnectionPool, _CheckedHTTPSConnection),
    }


def guard(session: requests.Session, *, allow_private: bool) -> requests.Session:
    """`session`, made to connect to public addresses only (unless `allow_private`),
    each request within its total deadline (its `timeout`). Proxies from the environment
    are not used: a proxy would resolve the host itself, after the check, and reach
    whatever it resolves to."""
    session.trust_env = False
    adapter = _DeadlineAdapter() if allow_private else _CheckedAdapter()
    for scheme in SCHEMES:
        session.mount(f"{scheme}://", adapter)
    return session


def session(*, allow_private: bool) -> requests.Session:
    """A requests session that connects to public addresses only (see `guard`)."""
    return guard(requests.Session(), allow_private=allow_private)
