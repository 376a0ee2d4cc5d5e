"""An AI call provider on 127.0.0.1 for tests: records each request and answers with the
next queued (status, body, delay) or, by default, 200 and a new call id."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeProvider:
    """An AI call provider on 127.0.0.1: records each request and answers with the next
    queued (status, body, delay) or, by default, 200 and a new call id."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: deque = deque()
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, status: int, body: dict | str, delay: float = 0.0) -> None:
        self.answers.append((status, body, delay))

    def handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with provider.lock:
                    provider.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)}
                    )
                    n = len(provider.requests)
                    status, body, delay = (
                        provider.answers.popleft()
                        if provider.answers
                        else (200, {"call_id": f"prov-call-{n}", "status": "queued"}, 0.0)
                    )
                time.sleep(delay)
                payload = body if isinstance(body, str) else json.dumps(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, *args):
                pass

        return Handler


@contextmanager
def serve_provider() -> Iterator[FakeProvider]:
    """A running provider; its base URL (for AI_CALL_PROVIDER_URL) is `provider.url`."""
    provider = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), provider.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_port}/v1"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
