"""`python -m smartweb.ops pooler`: a transaction-mode PgBouncer in the foreground, in
front of the server of DATABASE_URL (the runtime role) and DATABASE_OWNER_URL, until
interrupted. It prints the settings of the processes that use it (docs/operations.md)."""

from __future__ import annotations

import argparse
import os
import sys

from smartweb import pooler
from smartweb.ops import OpsError


def run(args: argparse.Namespace) -> int:
    runtime = os.environ.get("DATABASE_URL")
    if not runtime:
        raise OpsError("Set DATABASE_URL (the runtime role's, on the server itself).")
    roles = [runtime] + [os.environ[n] for n in ("DATABASE_OWNER_URL",) if os.environ.get(n)]
    running = pooler.configure(
        args.directory.resolve(), roles, port=args.port, pool_size=args.pool_size
    )
    running.start()
    sys.stdout.write(
        f"PgBouncer (transaction mode, {args.pool_size} server connections a role) on"
        f" 127.0.0.1:{running.port}; configuration in {running.config}. Web processes:\n"
        f"DATABASE_URL={running.url(runtime)}\nDATABASE_DIRECT_URL={runtime}\n"
    )
    sys.stdout.flush()
    try:
        return running.process.wait()  # PgBouncer stopped by itself: its exit status
    except KeyboardInterrupt:
        return 0
    finally:
        running.stop()
