"""An erasure is final: writers racing it either finish first (and are scrubbed) or wait
for it and are refused, and every later write to the erased lead, its company or its rows
is refused (409 `erased`) and writes nothing."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse

from accounts.models import Organization
from compliance import services as compliance_services
from compliance.erased import LeadErased, is_erased
from crm import services as crm_services
from crm.models import Opportunity, Task
from leads import services as lead_services
from leads.models import Interaction, Lead, LeadTag, Tag
from smartweb.errors import REFUSALS
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.crm.conftest import committed, live_org, owner_connection  # noqa: F401 (fixtures)
from tests.html_forms import form_data

EMAIL = "jane.racer@example.org"


def _edit(lead):
    lead_services.lead_update(
        lead=lead, acting_user=None, data={"contact_name": "Jane Racer (edited)", "notes": EMAIL}
    )


def _log(lead):
    lead_services.interaction_log(
        lead=lead,
        acting_user=None,
        data={"type": "call", "direction": "outbound", "subject": "Called Jane Racer"},
    )


WRITERS = {"edit": _edit, "log": _log}


def _person(organization) -> Lead:
    with tenant_context(organization):
        return lead_services.lead_create(
            acting_user=None,
            data={"contact_name": "Jane Racer", "contact_email": EMAIL, "notes": f"mail {EMAIL}"},
            company_data={"name": "Racer Roofing"},
            allow_duplicate=True,
        )


class Writer(threading.Thread):
    """`write(lead)` in its own session and transaction; `hold` keeps that transaction open
    until released. `outcome` is "written" or the refusal."""

    def __init__(self, organization, lead, write, *, hold: threading.Event | None = None):
        super().__init__()
        self.args_ = (organization, lead, write)
        self.hold = hold
        self.written = threading.Event()
        self.pid = None
        self.outcome = None

    def run(self):
        organization, lead, write = self.args_
        try:
            self.pid = connection.cursor().connection.info.backend_pid
            with tenant_context(organization):
                write(lead)
                self.written.set()
                if self.hold is not None:
                    self.hold.wait(10)
            self.outcome = "written"
        except REFUSALS as exc:
            self.outcome = exc
        finally:
            self.written.set()
            connection.close()


def _wait_until_blocked(thread: threading.Thread, pid_of) -> None:
    """Until the thread's session waits for a lock (or the thread ended)."""
    with owner_connection() as other:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and thread.is_alive():
            pid = pid_of()
            if pid is not None:
                row = other.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
                ).fetchone()
                if row and row[0] == "Lock":
                    return
            time.sleep(0.02)


def _left_of_her(organization, lead) -> list[str]:
    with tenant_context(organization):
        stored = Lead.all_objects.get(pk=lead.pk)
        left = [
            f"lead.{f}" for f in ("contact_name", "contact_email", "notes") if getattr(stored, f)
        ]
        for interaction in Interaction.all_objects.filter(lead_id=lead.pk):
            if "Jane" in interaction.subject + interaction.content:
                left.append(f"interaction {interaction.subject!r}")
    return left


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", WRITERS)
def test_a_write_queued_behind_an_erasure_is_refused_and_brings_nothing_back(live_org, kind):  # noqa: F811
    organization, _, _ = live_org
    lead = _person(organization)
    writer = Writer(organization, lead, WRITERS[kind])
    with tenant_context(organization):
        compliance_services.erase_subject(lead=lead, acting_user=None)
        # The erasure has run and not committed: the writer comes now, in another session.
        writer.start()
        _wait_until_blocked(writer, lambda: writer.pid)
    writer.join(10)
    assert isinstance(writer.outcome, LeadErased), writer.outcome
    assert _left_of_her(organization, lead) == []


@pytest.mark.django_db(transaction=True)
def test_an_erasure_waits_for_a_write_in_flight_and_scrubs_it(live_org):  # noqa: F811
    organization, _, _ = live_org
    lead = _person(organization)
    release = threading.Event()
    writer = Writer(organization, lead, _log, hold=release)
    writer.start()
    assert writer.written.wait(10)
    eraser_pid = []

    def erase():
        try:
            eraser_pid.append(connection.cursor().connection.info.backend_pid)
            with tenant_context(organization):
                compliance_services.erase_subject(lead=lead, acting_user=None)
        finally:
            connection.close()

    eraser = threading.Thread(target=erase)
    eraser.start()
    _wait_until_blocked(eraser, lambda: eraser_pid[0] if eraser_pid else None)
    assert eraser.is_alive(), "the erasure did not wait for the write in flight"
    release.set()
    writer.join(10)
    eraser.join(10)
    assert writer.outcome == "written"
    assert _left_of_her(organization, lead) == []
    with tenant_context(organization):
        assert is_erased(lead)


# --- after the erasure ------------------------------------------------------------


@pytest.fixture
def erased(org_a, admin_a, subject):
    client = factories.api_client(admin_a, org_a)
    response = client.post(f"/api/v1/leads/{subject.lead.pk}/erase/", {}, format="json")
    assert response.status_code == 200, response.content
    return subject


def _refused(response):
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "erased"


@pytest.mark.django_db
def test_the_api_refuses_every_write_to_an_erased_lead(org_a, admin_a, erased):
    client = factories.api_client(admin_a, org_a)
    lead = erased.lead
    with tenant_context(org_a):
        opportunity = Opportunity.all_objects.filter(lead=lead).first()
        counts = (Interaction.all_objects.count(), Task.all_objects.count())
        other = lead_services.lead_create(
            acting_user=None, data={}, company_data={"name": "Other Co"}, allow_duplicate=True
        )
    _refused(client.patch(f"/api/v1/leads/{lead.pk}/", {"contact_name": "Jane"}, format="json"))
    _refused(
        client.patch(f"/api/v1/companies/{lead.company_id}/", {"name": "Jane's"}, format="json")
    )
    _refused(
        client.post(
            "/api/v1/interactions/",
            {"lead": str(lead.pk), "type": "note", "direction": "internal", "content": "Jane"},
            format="json",
        )
    )
    _refused(client.post("/api/v1/tasks/", {"title": "Ring Jane", "lead": str(lead.pk)}))
    _refused(
        client.post(
            f"/api/v1/leads/{lead.pk}/change-status/", {"status": "contacted"}, format="json"
        )
    )
    _refused(
        client.patch(f"/api/v1/opportunities/{opportunity.pk}/", {"name": "Jane"}, format="json")
    )
    _refused(
        client.post(
            f"/api/v1/leads/{lead.pk}/consents/",
            {"purpose": "contact", "granted": True, "source": "phone"},
            format="json",
        )
    )
    for primary, duplicate in ((lead, other), (other, lead)):
        _refused(
            client.post(
                f"/api/v1/leads/{primary.pk}/merge/",
                {"duplicates": [str(duplicate.pk)]},
                format="json",
            )
        )
    with tenant_context(org_a):
        stored = Lead.all_objects.get(pk=lead.pk)
        assert (stored.contact_name, stored.company.name) == ("", "[erased]")
        assert (Interaction.all_objects.count(), Task.all_objects.count()) == counts
        assert Opportunity.all_objects.get(pk=opportunity.pk).name == opportunity.name
        assert not Lead.all_objects.filter(merged_into=other).exists()
    # Reading it stays possible.
    assert client.get(f"/api/v1/leads/{lead.pk}/").status_code == 200


def _new_lead_on_company_of(lead):
    """Her lead deleted (deleting stays possible), then a new one on her company."""
    lead_services.lead_delete(lead=lead, acting_user=None)
    lead_services.lead_create(acting_user=None, data={"contact_name": "Jane"}, company=lead.company)


@pytest.mark.django_db
def test_the_services_refuse_the_erased_lead_whatever_the_path(org_a, erased):
    lead = erased.lead
    with tenant_context(org_a):
        opportunity = Opportunity.all_objects.filter(lead=lead).first()
        attempts = {
            "edit": lambda: _edit(lead),
            "log": lambda: _log(lead),
            "enrich": lambda: lead_services.enrichment_record(
                lead=lead, acting_user=None, provider="maps", data={"owner": "Jane"}
            ),
            "task": lambda: crm_services.task_create(acting_user=None, title="Jane", lead=lead),
            "deal": lambda: crm_services.opportunity_update(
                opportunity=opportunity, acting_user=None, name="Jane"
            ),
            "new lead on her company": lambda: _new_lead_on_company_of(lead),
        }
        refused = {}
        for name, attempt in attempts.items():
            try:
                with transaction.atomic():
                    attempt()
            except LeadErased:
                refused[name] = True
            except REFUSALS as exc:
                refused[name] = f"{type(exc).__name__}: {exc}"
    assert refused == dict.fromkeys(attempts, True)


@pytest.mark.django_db
def test_the_admin_refuses_an_edit_of_an_erased_lead(client, org_a, admin_a, erased):
    lead = erased.lead
    client.force_login(admin_a)
    url = reverse("admin:leads_lead_change", args=[lead.pk])
    data = form_data(client.get(url).content.decode(), "lead_form")
    data["contact_name"] = ["Jane"]
    response = client.post(url, data, follow=True)
    assert "was erased" in response.content.decode()
    with tenant_context(org_a):
        assert Lead.all_objects.get(pk=lead.pk).contact_name == ""


def _selected(client, action: dict, leads):
    return client.post(
        reverse("admin:leads_lead_changelist"),
        {**action, "apply": "1", "_selected_action": [str(lead.pk) for lead in leads]},
        follow=True,
    )


@pytest.mark.django_db
def test_the_admins_bulk_actions_leave_an_erased_lead_alone(client, org_a, admin_a, erased):
    """Selected with others: a status change skips her and says why; an assignment and a
    tag, which change all of the selected leads or none, change none."""
    lead = erased.lead
    with tenant_context(org_a):
        other = lead_services.lead_create(
            acting_user=None, data={}, company_data={"name": "Other Co"}, allow_duplicate=True
        )
        before = Lead.all_objects.values_list("status", "assigned_to", "updated_at").get(pk=lead.pk)
        notes = Interaction.all_objects.filter(lead=lead).count()
        hot = Tag.objects.create(name="hot")
    client.force_login(admin_a)

    status = _selected(
        client, {"action": "change_status_selected", "status": "contacted"}, [lead, other]
    )
    assign = _selected(
        client, {"action": "assign_selected", "assigned_to": str(admin_a.pk)}, [lead, other]
    )
    tag = _selected(client, {"action": "tag_selected", "tag": str(hot.pk)}, [lead, other])

    assert "Changed 1 lead(s)." in status.content.decode()
    for refused in (status, assign, tag):
        assert "was erased" in refused.content.decode()
    with tenant_context(org_a):
        after = Lead.all_objects.values_list("status", "assigned_to", "updated_at").get(pk=lead.pk)
        assert after == before
        assert Interaction.all_objects.filter(lead=lead).count() == notes
        assert not LeadTag.objects.filter(tag=hot).exists()
        other = Lead.objects.get(pk=other.pk)
        assert other.status == "contacted" and other.assigned_to is None


# --- re-scoring: new weights would change every score, an erased lead's is not written --


def _new_weights(organization) -> None:
    Organization.objects.filter(pk=organization.pk).update(
        settings={"lead_scoring": {"weights": {"business_type": 90}}}
    )


def _score(organization, lead) -> tuple:
    """The lead's score as stored, and how many versions its history has."""
    with tenant_context(organization):
        stored = Lead.all_objects.get(pk=lead.pk)
        fields = (stored.lead_score, stored.score_breakdown, stored.scored_at, stored.updated_at)
        return (*fields, stored.history.count())


def _other_lead(organization) -> Lead:
    with tenant_context(organization):
        return lead_services.lead_create(
            acting_user=None,
            data={},
            company_data={"name": "Other Co", "business_type": "plumber"},
            allow_duplicate=True,
        )


@pytest.mark.django_db
def test_a_rescore_of_an_erased_lead_is_refused_by_the_api_and_the_service(org_a, admin_a, erased):
    lead = erased.lead
    _new_weights(org_a)
    before = _score(org_a, lead)
    _refused(factories.api_client(admin_a, org_a).post(f"/api/v1/leads/{lead.pk}/rescore/"))
    with tenant_context(org_a), pytest.raises(LeadErased), transaction.atomic():
        lead_services.lead_rescore(lead=lead, acting_user=None)
    assert _score(org_a, lead) == before


@pytest.mark.django_db
def test_the_admins_rescore_action_skips_an_erased_lead_and_says_so(client, org_a, admin_a, erased):
    lead, other = erased.lead, _other_lead(org_a)
    _new_weights(org_a)
    before, other_before = _score(org_a, lead), _score(org_a, other)
    client.force_login(admin_a)
    page = _selected(client, {"action": "rescore_selected"}, [lead, other]).content.decode()
    assert "1 score(s) changed." in page
    assert "1 erased lead(s) skipped: a person erased at their request" in page
    assert _score(org_a, lead) == before
    assert _score(org_a, other) != other_before


@pytest.mark.django_db
def test_the_rescore_command_skips_erased_leads_and_says_how_many(org_a, erased):
    lead, other = erased.lead, _other_lead(org_a)
    _new_weights(org_a)
    before, other_before = _score(org_a, lead), _score(org_a, other)
    out = io.StringIO()
    call_command("rescore_leads", "--organization", org_a.slug, "--no-progress", stdout=out)
    assert "1 erased lead(s) skipped" in out.getvalue()
    assert _score(org_a, lead) == before
    assert _score(org_a, other) != other_before


@pytest.mark.django_db
def test_an_erased_leads_pages_offer_no_step_and_say_why(client, org_a, admin_a, erased):
    """Every step would be refused: none is offered, on the lead's page or its deal's."""
    lead = erased.lead
    with tenant_context(org_a):
        opportunity = Opportunity.all_objects.filter(lead=lead).first()
        other = lead_services.lead_create(
            acting_user=None, data={}, company_data={"name": "Other Co"}, allow_duplicate=True
        )
    client.force_login(admin_a)
    pages = {
        "lead": reverse("admin:leads_lead_change", args=[lead.pk]),
        "deal": reverse("admin:crm_opportunity_change", args=[opportunity.pk]),
    }
    for name, url in pages.items():
        page = client.get(url).content.decode()
        assert "/steps/" not in page, name
        assert "was erased at their request" in page, name
    other_page = client.get(reverse("admin:leads_lead_change", args=[other.pk])).content.decode()
    assert "/steps/" in other_page and "was erased" not in other_page
