"""A stand-in OpenID Connect provider on 127.0.0.1, for what the client does with a
provider's answers that the real one (tests.oidc_provider) would never give: a real
http.server in a thread serving the JSON documents it is given (GET or POST), keeping the
path of every request, and running a test's hook just before it answers a path."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.local_http import QuietHandler, serving

DISCOVERY = "/.well-known/openid-configuration"


class StubProvider:
    def __init__(self):
        self.url = ""
        self.documents: dict[str, object] = {}
        self.before: dict[str, Callable[[], None]] = {}
        self.requests: list[str] = []

    @property
    def discovery_url(self) -> str:
        return f"{self.url}{DISCOVERY}"

    def discovery(self, **changes) -> dict:
        """A complete discovery document of this provider; a change to None drops the key."""
        document = {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            **changes,
        }
        return {name: value for name, value in document.items() if value is not None}

    def handler(self):
        stub = self

        class Handler(QuietHandler):
            def _answer(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?", 1)[0]
                stub.requests.append(path)
                if path in stub.before:
                    stub.before[path]()
                body = json.dumps(stub.documents.get(path, {"error": "not_found"})).encode()
                self.send_response(200 if path in stub.documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        return Handler


@contextmanager
def serve_stub_provider() -> Iterator[StubProvider]:
    stub = StubProvider()
    with serving(stub.handler()) as url:
        stub.url = url
        stub.documents[DISCOVERY] = stub.discovery()
        yield stub
