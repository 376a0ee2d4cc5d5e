"""Addresses that lead inside the server's network though Python's `ipaddress` calls most
of them global: IPv6 forms carrying a loopback, link-local or private IPv4 address. And a
resolver that answers chosen addresses for a test's host name, as a DNS server an
attacker controls would."""

from __future__ import annotations

import socket

import pytest

EMBEDDED_INTERNAL = [
    pytest.param("::127.0.0.1", id="ipv4-compatible-loopback"),
    pytest.param("::a9fe:a9fe", id="ipv4-compatible-link-local"),
    pytest.param("::ffff:127.0.0.1", id="ipv4-mapped-loopback"),
    pytest.param("::ffff:0:127.0.0.1", id="siit-loopback"),
    pytest.param("64:ff9b::7f00:1", id="nat64-loopback"),
    pytest.param("64:ff9b::169.254.169.254", id="nat64-link-local"),
    pytest.param("64:ff9b:1::a00:5", id="local-nat64-private"),
    pytest.param("2002:7f00:1::", id="6to4-loopback"),
    pytest.param("2002:a9fe:a9fe::", id="6to4-link-local"),
    pytest.param("2001:0:4136:e378:8000:63bf:f5ff:fffa", id="teredo-private-client"),
]


def resolve(monkeypatch, name: str, *addresses: str) -> None:
    """Make `name` resolve to `addresses` (other names resolve as usual)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, int(port or 0), 0, 0) if ":" in address else (address, int(port or 0)),
            )
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
