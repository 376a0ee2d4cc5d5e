"""The job worker, kept running: `python -m smartweb.worker [worker options]`.

procrastinate stops its worker when its database connection is lost (a server restart,
a fail-over, a terminated session), and exits with status 0: campaigns, webhooks, email
and reminders would then wait until someone started it again by hand, and a supervisor
that restarts only failed programs would not. This runs `manage.py procrastinate worker`
as a child and starts it again after it stops by itself, waiting longer after each
quick stop (1 s, doubling to 30 s) while the database is away. A stop asked of this
process (SIGTERM, SIGINT) is passed to the worker, which finishes its running jobs, and
ends both. The child dies with this process (Linux's parent-death signal), so a killed
supervisor leaves no worker behind.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

MANAGE = Path(__file__).resolve().parent.parent / "manage.py"
FIRST_DELAY, LAST_DELAY = 1.0, 30.0
# A worker that ran this long stopped for a new reason: start again at the first delay.
STEADY_SECONDS = 60.0
PR_SET_PDEATHSIG = 1

logger = logging.getLogger("smartweb.worker")


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopping = threading.Event()
    child: subprocess.Popen | None = None

    def stop(signum, frame):
        stopping.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    delay = FIRST_DELAY
    while True:
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, str(MANAGE), "procrastinate", "worker", *argv],
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - the worker starts no threads first
        )
        code = child.wait()
        if stopping.is_set():
            return code
        if time.monotonic() - started > STEADY_SECONDS:
            delay = FIRST_DELAY
        logger.warning("job worker stopped (status %s): starting it again in %.0f s", code, delay)
        if stopping.wait(delay):
            return code
        delay = min(delay * 2, LAST_DELAY)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
