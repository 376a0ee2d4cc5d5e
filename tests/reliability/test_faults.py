"""Outages and slow work against four web workers: while the database is gone (every
connection cut, no new one accepted, as in a restart or with the connections exhausted)
the API answers 503 in its JSON error shape with Retry-After, /healthz a JSON 503 and
nothing else; afterwards every request succeeds again and no acknowledged write is lost
or extra. A lock held too long answers 503 within the lock bound, not a hung worker, and
a slow upload holds no database session."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import requests
from django.conf import settings
from django.db import connection
from psycopg import sql

from accounts import services as account_services
from accounts.models import User
from attachments.models import Attachment
from crm.models import Task
from leads.models import Lead
from smartweb.db_bootstrap import with_database
from smartweb.origin import REQUEST_ID_HEADER
from smartweb.outage import RETRY_AFTER_SECONDS
from smartweb.tenancy.context import tenant_context
from tests.reliability.clients import StaffBrowser
from tests.reliability.conftest import ARTIFACTS, SERVER_LOG
from tests.servers import logged_for, web_server

CLIENTS = 4


@pytest.fixture(scope="module")
def token(django_db_blocker, demo_org) -> str:
    with django_db_blocker.unblock():
        user = User.objects.get(email="admin@demo.smartweb.test")
        with tenant_context(demo_org, user=user):
            _, raw = account_services.token_create(
                user=user, organization_id=demo_org.pk, name="faults", expires_in_days=1
            )
    return raw


@pytest.fixture(scope="module")
def api(token) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    adapter = requests.adapters.HTTPAdapter(pool_connections=CLIENTS, pool_maxsize=CLIENTS)
    http.mount("http://", adapter)
    return http


def owner_connection(**kwargs) -> psycopg.Connection:
    """The owner role on the test database (it owns the database and its tables)."""
    url = with_database(settings.DATABASE_OWNER_URL, settings.DATABASES["default"]["NAME"])
    return psycopg.connect(url, **kwargs)


def assert_unavailable(response: requests.Response, log: Path | None = None) -> None:
    """A 503 a client can act on: JSON, the API's error shape, when to try again. With the
    server's `log`, another answer is reported with what the server logged for it."""
    if response.status_code != 503 and log is not None:
        logged = logged_for(log, response.headers.get(REQUEST_ID_HEADER, "?"))
        pytest.fail(f"{response.status_code} {response.text[:300]}\n{logged}")
    assert response.status_code == 503, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    assert int(response.headers["Retry-After"]) > 0
    if response.url.endswith("/healthz"):
        assert response.json() == {"status": "error", "database": "unreachable"}
    else:
        assert response.json()["error"]["code"] == "service_unavailable"


class Outage:
    """The database gone for a while: new connections of the application refused (the
    database's connection limit at 0, as when a server restarts or its connections are
    used up) and every open one cut, then back."""

    def __init__(self):
        self.owner = owner_connection(autocommit=True)
        self.database = sql.Identifier(settings.DATABASES["default"]["NAME"])

    def begin(self) -> None:
        self.owner.execute(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT 0").format(self.database))
        # The runtime role may end its own sessions (the web's and the job worker's); this
        # test's own is the one that asks.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND usename = current_user"
                " AND pid <> pg_backend_pid()"
            )

    def end(self) -> None:
        self.owner.execute(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT -1").format(self.database))
        self.owner.close()


def test_a_database_outage_answers_503_json_and_recovers(live_url, api, demo_org, read):
    run = uuid.uuid4().hex[:8]
    stop = threading.Event()
    responses: list[tuple[float, requests.Response | Exception, str | None]] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            title = f"outage {run} {n}-{i}"
            calls = [
                ("GET", "/api/v1/leads/?page_size=5", None, None),
                ("POST", "/api/v1/tasks/", {"title": title}, title),
                ("GET", "/healthz", None, None),
            ]
            for method, path, body, written in calls:
                try:
                    got = api.request(method, live_url + path, json=body, timeout=30)
                except requests.RequestException as exc:
                    got = exc
                with lock:
                    responses.append((time.monotonic(), got, written))

    outage = Outage()
    with ThreadPoolExecutor(CLIENTS) as pool:
        clients = [pool.submit(client, n) for n in range(CLIENTS)]
        try:
            time.sleep(2)
            started = time.monotonic()
            try:
                outage.begin()
                time.sleep(3)
            finally:
                outage.end()
            ended = time.monotonic()
            time.sleep(2)
        finally:
            stop.set()
    for running in clients:
        running.result()

    errors = [got for _, got, _ in responses if isinstance(got, Exception)]
    assert not errors, errors[:3]
    during = [got for at, got, _ in responses if started <= at <= ended + 1]
    unavailable = [got for got in during if got.status_code == 503]
    for got in responses:
        response = got[1]
        if response.status_code >= 500:
            assert_unavailable(response, SERVER_LOG)
        else:
            assert response.status_code in (200, 201), response.text[:300]
    assert unavailable, "the outage was not noticed"
    print(
        f"\noutage of 3 s: {len(unavailable)} of {len(during)} requests answered 503,"
        f" {len(responses)} requests in all"
    )

    # Back by itself: every request succeeds again.
    after = [api.get(f"{live_url}/api/v1/leads/?page_size=5", timeout=30) for _ in range(20)]
    assert [r.status_code for r in after] == [200] * 20
    # No wrong rows: exactly the acknowledged tasks exist.
    acknowledged = {written for _, got, written in responses if written and got.status_code == 201}
    with tenant_context(demo_org):
        stored = list(
            Task.objects.filter(title__startswith=f"outage {run} ").values_list("title", flat=True)
        )
    assert sorted(stored) == sorted(acknowledged)


def test_with_debug_on_an_outage_still_answers_503(server_env, api):
    """`make run` serves with DEBUG on, where Django answers an uncaught exception with its
    debug page: a database restart must still look like one to the client."""
    debug_env = {**server_env, "DEBUG": "1"}
    with web_server(debug_env, ARTIFACTS / "debug-server.log", workers=1) as debug_url:
        browser = StaffBrowser(debug_url).http
        outage = Outage()
        try:
            outage.begin()
            assert_unavailable(api.get(f"{debug_url}/api/v1/leads/?page_size=5", timeout=30))
            assert_unavailable(requests.get(f"{debug_url}/healthz", timeout=30))
            # A signed-in page fails before the view, in the middleware reading the session.
            page = browser.get(f"{debug_url}/admin/leads/lead/", timeout=30)
            assert page.status_code == 503 and "Briefly unavailable" in page.text
            assert page.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        finally:
            outage.end()
        assert api.get(f"{debug_url}/api/v1/leads/?page_size=5", timeout=30).status_code == 200
        assert browser.get(f"{debug_url}/admin/leads/lead/", timeout=30).status_code == 200


def _hold_lock(table: str, seconds: float, locked: threading.Event) -> None:
    with owner_connection() as conn:
        conn.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table))
        )
        locked.set()
        time.sleep(seconds)


def test_a_lock_held_too_long_answers_503_within_the_lock_bound(live_url, api):
    browser = StaffBrowser(live_url).http
    locked = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=("leads_lead", 15, locked))
    holder.start()
    try:
        assert locked.wait(10)
        start = time.monotonic()
        response = api.get(f"{live_url}/api/v1/leads/?page_size=5", timeout=60)
        waited = time.monotonic() - start
        assert_unavailable(response, SERVER_LOG)
        assert waited < 10, f"waited {waited:.1f} s"
        # The admin: a short page that says the records are held, not Django's 500.
        page = browser.get(f"{live_url}/admin/leads/lead/", timeout=60)
        assert page.status_code == 503 and "Records in use" in page.text
        assert "cannot be reached" not in page.text
        assert page.headers["Content-Type"].startswith("text/html")
        # The workers are not stuck: health answers at once.
        start = time.monotonic()
        assert requests.get(f"{live_url}/healthz", timeout=10).status_code == 200
        assert time.monotonic() - start < 2
    finally:
        holder.join()
    assert api.get(f"{live_url}/api/v1/leads/?page_size=5", timeout=30).status_code == 200


def _idle_in_transaction() -> int:
    """Sessions of the application idle inside a transaction for over a second."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND usename = current_user AND pid <> pg_backend_pid()"
            " AND state = 'idle in transaction' AND state_change < now() - interval '1 second'"
        )
        return cursor.fetchone()[0]


def _post_slowly(live_url, path, token, content_type, body, *, pieces, pause) -> list[int]:
    """POST `body` to `path` in `pieces` pieces, `pause` s apart, counting after each the
    sessions idle in a transaction; asserts a 201 and returns the counts."""
    host, port = live_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        held, step = [], -(-len(body) // pieces)
        for start in range(0, len(body), step):
            sock.sendall(body[start : start + step])
            time.sleep(pause)
            held.append(_idle_in_transaction())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    return held


def test_a_slow_upload_holds_no_database_session(live_url, token, demo_org, read):
    title = f"slow upload {uuid.uuid4().hex[:8]}"
    body = json.dumps({"title": title}).encode()
    held = _post_slowly(
        live_url,
        "/api/v1/tasks/",
        token,
        "application/json",
        body,
        pieces=len(body) // 4,
        pause=0.5,
    )
    assert max(held) == 0, f"sessions idle in a transaction during the upload: {held}"
    with tenant_context(demo_org):
        assert Task.objects.filter(title=title).count() == 1


def test_a_slow_large_upload_holds_no_database_session(live_url, token, demo_org, read):
    """A file over the in-memory body limit (an attachment of 3 MB) sent slowly: it is
    read before the request's transaction opens, as a small body is."""
    with tenant_context(demo_org):
        lead = Lead.objects.order_by("created_at").first()
    boundary = uuid.uuid4().hex
    name = f"slow-{boundary[:8]}.csv"
    content = b"a,b\n" + b"1,2\n" * (3 * 1024 * 1024 // 4)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="lead"\r\n\r\n{lead.pk}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    content_type = f"multipart/form-data; boundary={boundary}"
    held = _post_slowly(
        live_url, "/api/v1/attachments/", token, content_type, body, pieces=20, pause=0.25
    )
    assert max(held) == 0, f"sessions idle in a transaction during the upload: {held}"
    with tenant_context(demo_org):
        assert Attachment.objects.get(original_name=name).size == len(content)
