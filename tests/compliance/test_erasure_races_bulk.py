"""A bulk action over several leads (assign, change status: `smartweb.writes.locked_rows`,
`retried_on_conflict`) and the erasure of one of them (`compliance.erased`) lock the same
leads and companies. Run at once, many times, from two real sessions through the admin
and the API as users send them: neither ever meets a deadlock the user sees (at most
the honest conflict message), the erasure always completes, and nothing is written to
the erased lead once erased (the bulk action refuses her, as every writer does)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.test import Client

from compliance.erased import is_erased
from compliance.models import SubjectRequest
from leads import services as lead_services
from leads.models import Interaction, Lead
from smartweb import outage
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.compliance.conftest import tables_containing
from tests.concurrency import Racer
from tests.crm.conftest import committed, live_org  # noqa: F401 (fixtures)

ROUNDS = 12
# How long the erasure's request waits after the bulk action's, round by round: the two
# reach the leads in either order, and meet while one of them holds them.
ERASURE_DELAYS = (0, 0.05, 0.1, 0.2)
NAME = "Jane Racer"

BULK_ACTIONS = {
    "assign": lambda rep: {"action": "assign_selected", "assigned_to": str(rep.pk)},
    "status": lambda rep: {"action": "change_status_selected", "status": "contacted"},
}


def _email(round_: int) -> str:
    # A new address each round: an erased one is on the suppression list.
    return f"jane.racer.{round_}@example.org"


def _leads(organization, email: str) -> tuple[list[Lead], Lead]:
    """Six leads, one of them the person to erase (where she falls among them in the
    bulk action's lock order changes from round to round: ids are random)."""
    with tenant_context(organization):
        others = [
            lead_services.lead_create(
                acting_user=None,
                data={"contact_name": f"Other {n}"},
                company_data={"name": f"Other Co {n}"},
                allow_duplicate=True,
            )
            for n in range(5)
        ]
        subject = lead_services.lead_create(
            acting_user=None,
            data={"contact_name": NAME, "contact_email": email, "notes": f"mail {email}"},
            company_data={"name": f"{NAME} Roofing"},
            allow_duplicate=True,
        )
    return [*others, subject], subject


def _bulk(client: Client, leads, data):
    return client.post(
        "/admin/leads/lead/",
        {**data, "apply": "1", "_selected_action": [str(lead.pk) for lead in leads]},
    )


def _at_once(*calls: tuple[float, Callable]) -> list[Racer]:
    """Each (delay, call) from its own session, let go at the same moment, then after its
    delay."""
    start = threading.Barrier(len(calls))

    def released(delay, call):
        def run():
            start.wait(10)
            time.sleep(delay)
            return call()

        return run

    racers = [Racer(released(delay, call)).start() for delay, call in calls]
    return [racer.join() for racer in racers]


def _written_to_her_after(organization, subject) -> list[str]:
    """What was written to her lead once her erasure had completed (nothing may be)."""
    with tenant_context(organization):
        completed = SubjectRequest.objects.get(lead=subject).completed_at
        lead = Lead.all_objects.get(pk=subject.pk)
        later = Interaction.all_objects.filter(lead=subject, created_at__gt=completed)
        written = [f"interaction {title!r}" for title in later.values_list("subject", flat=True)]
    return written + (["lead"] if lead.updated_at > completed else [])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", BULK_ACTIONS)
def test_a_bulk_action_racing_an_erasure_never_deadlocks_nor_writes_to_her(live_org, action):  # noqa: F811
    organization, admin, rep = live_org
    back_office = Client(raise_request_exception=False)
    back_office.force_login(admin)
    api = factories.api_client(admin, organization)
    for round_ in range(ROUNDS):
        email = _email(round_)
        leads, subject = _leads(organization, email)
        data = BULK_ACTIONS[action](rep)
        bulk, erasure = _at_once(
            (0, lambda leads=leads, data=data: _bulk(back_office, leads, data)),
            (
                ERASURE_DELAYS[round_ % len(ERASURE_DELAYS)],
                lambda subject=subject: api.post(f"/api/v1/leads/{subject.pk}/erase/", {}),
            ),
        )
        assert erasure.error is None and erasure.result.status_code == 200, (
            round_,
            erasure.error or erasure.result.content,
        )
        assert bulk.error is None, (round_, bulk.error)
        answer = bulk.result
        assert answer.status_code == 302 or (
            answer.status_code == 409 and outage.CONFLICT_MESSAGE in answer.content.decode()
        ), (round_, answer.status_code, answer.content[:300])
        with tenant_context(organization):
            assert is_erased(subject), round_
        # Nothing was written to her once erased, and she is in no row or history row.
        assert _written_to_her_after(organization, subject) == [], round_
        assert tables_containing(organization, [NAME, email]) == {}, round_
