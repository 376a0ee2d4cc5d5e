"""An AI call provider on 127.0.0.1 for tests: records each request and answers with the
next queued (status, body, delay) or, by default, 200 and a new call id."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from tests.local_http import QuietHandler, serving


class FakeProvider:
    """An AI call provider on 127.0.0.1: records each request and answers with the next
    queued (status, body, delay) or, by default, 200 and a call id: a new one, or the one
    already started with the same Idempotency-Key (as the provider contract says)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: deque = deque()
        self.started: dict[str, str] = {}  # Idempotency-Key -> call id
        self.lock = threading.Lock()
        self.url = ""

    def placed_calls(self) -> int:
        """Calls started, counting each idempotency key once."""
        with self.lock:
            return len(self.started)

    def answer(self, status: int, body: dict | str, delay: float = 0.0) -> None:
        self.answers.append((status, body, delay))

    def handler(self):
        provider = self

        class Handler(QuietHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with provider.lock:
                    provider.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)}
                    )
                    key = self.headers.get("Idempotency-Key") or f"request-{len(provider.requests)}"
                    call_id = provider.started.get(key, f"prov-call-{len(provider.started) + 1}")
                    status, body, delay = (
                        provider.answers.popleft()
                        if provider.answers
                        else (200, {"call_id": call_id, "status": "queued"}, 0.0)
                    )
                    if status == 200 and isinstance(body, dict) and "call_id" in body:
                        provider.started.setdefault(key, body["call_id"])
                time.sleep(delay)
                payload = body if isinstance(body, str) else json.dumps(body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the caller gave up (timed out, or its process was killed)

        return Handler


@contextmanager
def serve_provider() -> Iterator[FakeProvider]:
    """A running provider; its base URL (for AI_CALL_PROVIDER_URL) is `provider.url`."""
    provider = FakeProvider()
    # Closing waits for delayed answers still being sent.
    with serving(provider.handler(), daemon_threads=False) as url:
        provider.url = f"{url}/v1"
        yield provider
