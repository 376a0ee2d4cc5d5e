"""Public lead-form submissions from four clients while the database goes away and comes
back: each is answered 201 or a 503 to retry, and every acknowledged submission is stored
exactly once (a lead, its consent record and its timeline entry)."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from accounts.models import Organization
from compliance.choices import ConsentPurpose
from compliance.models import ConsentRecord
from leads.models import Lead
from smartweb.tenancy.context import tenant_context
from tests.reliability.clients import public_form
from tests.reliability.conftest import ARTIFACTS
from tests.reliability.test_faults import Outage, assert_unavailable
from tests.servers import web_server

CLIENTS = 4
FORMS_LOG = ARTIFACTS / "forms-server.log"


@pytest.fixture(scope="module")
def forms_url(server_env):
    """A server whose address limit lets one test client post for its four."""
    env = {**server_env, "LEAD_FORM_ADDRESS_LIMIT": "100000", "LEAD_FORM_KEY_LIMIT": "100000"}
    with web_server(env, FORMS_LOG, workers=4, production_config=True) as url:
        yield url


def test_submissions_through_an_outage_are_stored_once_each(forms_url, read):
    organization = Organization.objects.get(slug="demo")
    form = public_form(organization, f"Outage {uuid.uuid4().hex[:6]}")
    url = f"{forms_url}/api/v1/forms/{form.public_key}/submit/"
    run = uuid.uuid4().hex[:8]
    stop = threading.Event()
    answers: list[tuple[str, requests.Response | Exception]] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            email = f"f-{run}-{n}-{i}@pipes.example"
            body = {"contact_email": email, "company_name": f"Pipes {n}-{i}", "consent": True}
            try:
                got = requests.post(url, json=body, timeout=30)
            except requests.RequestException as exc:
                got = exc
            with lock:
                answers.append((email, got))

    outage = Outage()
    with ThreadPoolExecutor(CLIENTS) as pool:
        clients = [pool.submit(client, n) for n in range(CLIENTS)]
        try:
            time.sleep(2)
            try:
                outage.begin()
                time.sleep(1)
                # The form's own page, posted from a browser: a page asking to try again.
                page = requests.post(
                    f"{forms_url}/forms/{form.public_key}/",
                    data={"contact_email": f"page-{run}@pipes.example"},
                    timeout=30,
                )
                time.sleep(2)
            finally:
                outage.end()
            time.sleep(2)
        finally:
            stop.set()
    for running in clients:
        running.result()
    assert page.status_code == 503 and "Briefly unavailable" in page.text, page.text[:300]
    assert page.headers["Retry-After"]

    assert not [got for _, got in answers if isinstance(got, Exception)]
    for _, got in answers:
        if got.status_code >= 500:
            assert_unavailable(got, FORMS_LOG)
        else:
            assert got.status_code == 201, got.text[:300]
    acknowledged = sorted(email for email, got in answers if got.status_code == 201)
    refused = [got for _, got in answers if got.status_code == 503]
    assert refused, "the outage was not noticed"
    last = f"f-{run}-after@pipes.example"
    after = requests.post(url, json={"contact_email": last, "consent": True}, timeout=30)
    assert after.status_code == 201, after.text[:300]
    acknowledged = sorted([*acknowledged, last])
    print(f"\n{len(acknowledged)} submissions stored, {len(refused)} answered 503")
    with tenant_context(organization):
        leads = Lead.objects.filter(contact_email__startswith=f"f-{run}-")
        assert sorted(leads.values_list("contact_email", flat=True)) == acknowledged
        consents = ConsentRecord.objects.filter(lead__in=leads, purpose=ConsentPurpose.CONTACT)
        assert consents.count() == len(acknowledged)
