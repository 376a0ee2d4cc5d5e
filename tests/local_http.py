"""A local HTTP server for tests that play a third party (an AI-call provider, a webhook
receiver, an identity provider): a real server on 127.0.0.1 that the code under test
calls over the network."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps its access log out of the test output."""

    def log_message(self, *args):
        pass


def trickle(handler: BaseHTTPRequestHandler, answer: bytes, *, interval: float) -> None:
    """Write `answer` (status line, headers, body) to the client a byte at a time,
    `interval` seconds apart: each read the client makes is short, the whole answer
    long. Stops when the client goes away."""
    try:
        for index in range(len(answer)):
            handler.wfile.write(answer[index : index + 1])
            handler.wfile.flush()
            time.sleep(interval)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up waiting


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], *, daemon_threads: bool = True) -> Iterator[str]:
    """`handler` served on a free port of 127.0.0.1, until the block ends; yields the
    server's base URL. `daemon_threads=False`: closing waits for requests still being
    answered."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = daemon_threads
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
