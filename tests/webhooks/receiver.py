"""A webhook receiver on 127.0.0.1 for tests: a real http.server in a thread that keeps
every request it gets (headers, body, when it came and when it was answered) and answers
with the next queued status (or 200), after an optional delay, or trickled a byte at a
time. It counts the most requests it had at once."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from tests.local_http import QuietHandler, serving, trickle


class Receiver:
    def __init__(self):
        self.requests: list[dict] = []
        self.answers: deque[tuple[int, float, float]] = deque()
        self.lock = threading.Lock()
        self.url = ""
        self.at_once = 0
        self.most_at_once = 0

    def answer(self, status: int, delay: float = 0.0, times: int = 1) -> None:
        for _ in range(times):
            self.answers.append((status, delay, 0.0))

    def trickle(self, status: int, interval: float) -> None:
        """Answer the next request with `status`, one byte every `interval` seconds."""
        self.answers.append((status, 0.0, interval))

    def events(self) -> list[dict]:
        """The bodies received, as JSON."""
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def handler(self):
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "received_at": time.monotonic(),
                }
                with receiver.lock:
                    receiver.requests.append(request)
                    receiver.at_once += 1
                    receiver.most_at_once = max(receiver.most_at_once, receiver.at_once)
                    status, delay, interval = (
                        receiver.answers.popleft() if receiver.answers else (200, 0, 0)
                    )
                try:
                    self.reply(status, delay, interval)
                finally:
                    with receiver.lock:
                        receiver.at_once -= 1
                        request["answered_at"] = time.monotonic()

            def reply(self, status: int, delay: float, interval: float) -> None:
                if interval:
                    answer = f"HTTP/1.1 {status} Slow\r\nContent-Length: 0\r\n\r\n"
                    trickle(self, answer.encode(), interval=interval)
                    return
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting

        return Handler


@contextmanager
def serve_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serving(receiver.handler()) as url:
        receiver.url = f"{url}/hooks"
        yield receiver
