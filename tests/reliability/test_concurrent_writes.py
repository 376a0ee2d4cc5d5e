"""Concurrent writes against four web workers: nothing acknowledged is lost, nothing
doubles. Eight clients at once, as a sales team editing the same records would."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from crm.models import Opportunity, PipelineStage, Task
from leads.models import Company, Lead
from smartweb.tenancy.context import tenant_context
from tests.reliability.clients import CLIENTS, admin_session, at_once

pytestmark = pytest.mark.django_db(transaction=False)

ROUNDS = 6
# Eight different fields of one lead, each edited by its own client.
FIELDS = {
    "contact_name": lambda v: {"contact_name": v},
    "contact_title": lambda v: {"contact_title": v},
    "notes": lambda v: {"notes": v},
    "city": lambda v: {"company": {"city": v}},
    "address_line1": lambda v: {"company": {"address_line1": v}},
    "address_line2": lambda v: {"company": {"address_line2": v}},
    "region": lambda v: {"company": {"region": v}},
    "postal_code": lambda v: {"company": {"postal_code": v}},
}


@pytest.fixture(scope="module")
def session(django_db_blocker, demo_org):
    """A requests session as the demo organization's admin, with an API token."""
    with django_db_blocker.unblock():
        return admin_session(demo_org, name="reliability")


def _a_lead(demo_org) -> Lead:
    with tenant_context(demo_org):
        return Lead.objects.exclude(status="converted").order_by("created_at").first()


def _field_value(body: dict, name: str):
    return body[name] if name in body else body["company"][name]


def test_concurrent_edits_of_different_fields_lose_nothing(live_url, session, demo_org, read):
    lead = _a_lead(demo_org)
    url = f"{live_url}/api/v1/leads/{lead.pk}/"
    lost, refused = [], []
    for round_no in range(ROUNDS):
        values = {name: f"r{round_no}-{uuid.uuid4().hex[:8]}" for name in FIELDS}
        responses = at_once(
            lambda name, v=values: session.patch(url, json=FIELDS[name](v[name]), timeout=60),
            FIELDS,
        )
        refused += [r.text for r in responses if r.status_code != 200]
        acknowledged = [n for n, r in zip(FIELDS, responses, strict=True) if r.status_code == 200]
        stored = session.get(url, timeout=60).json()
        stored["company"] = _company(session, live_url, stored)
        lost += [name for name in acknowledged if _field_value(stored, name) != values[name]]
    print(f"lost updates: {len(lost)} of {ROUNDS * CLIENTS}, refused: {refused}")
    assert (lost, refused) == ([], [])
    # The history records the writes that happened: the last snapshot holds every value.
    with tenant_context(demo_org):
        latest = Lead.history.filter(id=lead.pk).order_by("-history_date").first()
        assert latest.contact_name == values["contact_name"]
        assert latest.notes == values["notes"]


def _company(session, live_url, lead_body: dict) -> dict:
    company_id = lead_body["company"]["id"]
    return session.get(f"{live_url}/api/v1/companies/{company_id}/", timeout=60).json()


def test_concurrent_edits_of_one_field_with_if_match_accept_exactly_one(
    live_url, session, demo_org, read
):
    lead = _a_lead(demo_org)
    url = f"{live_url}/api/v1/leads/{lead.pk}/"
    for round_no in range(ROUNDS):
        current = session.get(url, timeout=60)
        etag = current.headers.get("ETag")
        assert etag, "the lead has no ETag"
        responses = at_once(
            lambda i, r=round_no, tag=etag: session.patch(
                url, json={"contact_name": f"r{r}-{i}"}, headers={"If-Match": tag}, timeout=60
            )
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] + [412] * (CLIENTS - 1), codes
        winner = next(r for r in responses if r.status_code == 200)
        stale = next(r for r in responses if r.status_code == 412)
        # The refusal carries the row as it now is, and its version.
        assert (
            stale.json()["error"]["details"]["current"]["contact_name"]
            == (winner.json()["contact_name"])
        )
        assert stale.headers["ETag"] == winner.headers["ETag"] != etag


def test_concurrent_moves_and_edits_of_one_deal_all_succeed(live_url, session, demo_org, read):
    # A sales team on one deal: half the clients drag it across the board, half edit it.
    # Each waits for the others' locks, then finds the deal as they left it.
    with tenant_context(demo_org):
        deal = Opportunity.objects.open().order_by("created_at").first()
        stages = [
            str(pk)
            for pk in PipelineStage.objects.filter(
                pipeline=deal.pipeline_id, is_won=False, is_lost=False
            ).values_list("pk", flat=True)
        ]
    url = f"{live_url}/api/v1/opportunities/{deal.pk}/"

    def write(i: int):
        if i % 2:
            return session.patch(url, json={"name": f"Website {i}"}, timeout=60)
        body = {"stage": stages[i // 2 % len(stages)]}
        return session.post(f"{url}move-stage/", json=body, timeout=60)

    failed = []
    for _ in range(ROUNDS):
        failed += [(r.status_code, r.text[:200]) for r in at_once(write) if r.status_code != 200]
    assert failed == []
    stored = session.get(url, timeout=60).json()
    assert stored["stage"] in stages and stored["status"] == "open"


# Resources whose rows are edited and deleted by the API: (list, query, edited field).
RACED = {
    "leads": ("status=new", "notes"),
    "opportunities": ("status=open", "name"),
    "tasks": ("status=open", "title"),
    "interactions": ("", "subject"),
}


@pytest.mark.parametrize("resource", RACED)
def test_edits_racing_a_delete_are_refused_with_404_and_write_nothing(
    live_url, session, resource, read
):
    # One client deletes the row while the others edit it: an edit that comes after the
    # delete, or waited for its lock, is refused as not found; none is acknowledged and lost.
    query, field = RACED[resource]
    listed = session.get(f"{live_url}/api/v1/{resource}/?{query}", timeout=60).json()["results"]
    url = f"{live_url}/api/v1/{resource}/{listed[-1]['id']}/"
    for round_no in range(ROUNDS):
        values = {i: f"r{round_no}-{i}-{uuid.uuid4().hex[:6]}" for i in range(1, CLIENTS)}
        # Half the edits name the version they read (If-Match), half do not.
        version = {"If-Match": session.get(url, timeout=60).headers["ETag"]}

        def write(i: int, v=values, tag=version):
            if i == 0:
                return session.delete(url, timeout=60)
            headers = tag if i % 2 else {}
            return session.patch(url, json={field: v[i]}, headers=headers, timeout=60)

        responses = at_once(write)
        codes = [r.status_code for r in responses]
        refused = {200, 404, 412}
        assert codes[0] == 204 and set(codes[1:]) <= refused, [r.text[:200] for r in responses]
        restored = session.post(f"{url}restore/", timeout=60)
        assert restored.status_code == 200, restored.text
        acknowledged = {values[i] for i in range(1, CLIENTS) if codes[i] == 200}
        # The lead as restored holds the last acknowledged edit, or none of this round's.
        stored = restored.json()[field]
        assert stored in acknowledged or not acknowledged, (stored, acknowledged)


def test_concurrent_completion_of_one_task_is_accepted_once(live_url, session, demo_org, read):
    lead = _a_lead(demo_org)
    for _ in range(ROUNDS):
        created = session.post(
            f"{live_url}/api/v1/tasks/",
            json={"title": f"Call back {uuid.uuid4().hex[:6]}", "lead": str(lead.pk)},
            timeout=60,
        )
        assert created.status_code == 201, created.text
        url = f"{live_url}/api/v1/tasks/{created.json()['id']}/complete/"
        responses = at_once(lambda _, u=url: session.post(u, timeout=60))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] + [409] * (CLIENTS - 1), codes
        with tenant_context(demo_org):
            task = Task.objects.get(pk=created.json()["id"])
            assert task.history.filter(status="done").count() == 1


def test_concurrent_creation_of_one_business_creates_one_lead(live_url, session, demo_org, read):
    for round_no in range(ROUNDS):
        tag = uuid.uuid4().hex[:8]
        body = {
            "company": {
                "name": f"Twin Plumbing {tag}",
                "phone": f"+4420{round_no}{int(tag, 16) % 10**6:06d}",
                "email": f"office@{tag}.example",
                "website": f"https://{tag}.example",
            },
            "contact_name": "Pat Twin",
        }
        responses = at_once(
            lambda _, b=body: session.post(f"{live_url}/api/v1/leads/", json=b, timeout=60)
        )
        created = [r for r in responses if r.status_code == 201]
        assert len(created) == 1, sorted(r.status_code for r in responses)
        first = created[0].json()["id"]
        for refused in (r for r in responses if r.status_code != 201):
            assert refused.status_code == 400, refused.text
            assert [d["id"] for d in refused.json()["error"]["details"]["duplicates"]] == [first]
        with tenant_context(demo_org):
            assert Company.objects.filter(email_normalized=f"office@{tag}.example").count() == 1


def test_one_file_imported_twice_at_once_is_imported_once(server_env, demo_org, read, tmp_path):
    rows = 300
    tag = uuid.uuid4().hex[:8]
    path = Path(tmp_path) / "leads.csv"
    lines = ["company_name,phone,email,city,contact_name"]
    lines += [
        f"Import {tag} {i},+4430{i:07d}{int(tag, 16) % 10},desk{i}@{tag}.example,Leeds,Lee {i}"
        for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = [sys.executable, "manage.py", "import_leads", str(path)]
    command += ["--organization", "demo", "--no-progress", "--skip-bad-rows"]
    runs = [
        subprocess.Popen(
            command,
            env=server_env,
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    with tenant_context(demo_org):
        assert Company.objects.filter(name__startswith=f"Import {tag} ").count() == rows


def test_a_retried_create_with_an_idempotency_key_is_done_once(live_url, session, demo_org, read):
    key = str(uuid.uuid4())
    title = f"Send the quote {key[:8]}"
    url = f"{live_url}/api/v1/tasks/"
    responses = at_once(
        lambda _: session.post(
            url, json={"title": title}, headers={"Idempotency-Key": key}, timeout=60
        )
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    with tenant_context(demo_org):
        assert Task.objects.filter(title=title).count() == 1
    # The same key with another body is a client error, and creates nothing.
    other = session.post(
        url, json={"title": title + " (other)"}, headers={"Idempotency-Key": key}, timeout=60
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
