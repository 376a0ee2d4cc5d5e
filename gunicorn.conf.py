"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py smartweb.wsgi`.

Every value can be changed by the environment variable named beside it (or on the
command line, which wins). Requests are bounded below this: a statement by 15 s and a
lock wait by 5 s in the database (see settings), so a worker is never killed for a
query that hangs; the worker timeout only catches a process that stopped answering.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


wsgi_app = "smartweb.wsgi"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Threads serve slow clients and idle keep-alive connections without blocking a process.
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 9))
threads = _int("GUNICORN_THREADS", 4)
# A worker silent this long is killed and replaced (it is past every database bound).
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGHUP or a new deploy, requests in progress get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Workers are replaced after this many requests (memory growth), not all at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# Request line and headers arrive within bounds; bodies are read before the transaction.
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
