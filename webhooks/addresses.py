"""Server-side request forgery guard: a webhook URL must lead to the public internet.

The host name is resolved and every address it resolves to is checked (one private
address among public ones is enough to refuse), when the endpoint is registered and
again before each delivery, because a name can be made to resolve elsewhere later (DNS
rebinding). WEBHOOK_ALLOW_PRIVATE_ADDRESSES lifts the address check for local
development and tests; the URL's shape is checked always.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

SCHEMES = ("http", "https")


class RefusedURL(ValueError):
    """The URL is malformed, or leads somewhere a webhook must not go; the message says."""


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
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url(url: str) -> None:
    """Refuse (RefusedURL) a malformed URL, or one whose host resolves to any loopback,
    private, link-local or otherwise non-public address."""
    host, port = check_shape(url)
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedURL(f"The host name {host} does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not _is_public(address):
            raise RefusedURL(
                f"{host} resolves to {address}, which is not a public address;"
                " webhooks are sent to the internet only."
            )
