"""A pipeline's page saved in the admin while its stage is edited through the API, at the
same moment, against four web workers: both lock the pipeline and the stage, in one
order (`crm.pipeline_locks`), so neither loses a deadlock and no one is told of a
conflict to send again."""

from __future__ import annotations

import uuid

from django.db import connection

from crm import services
from crm.models import PipelineStage
from smartweb.outage import CONFLICT_MESSAGE
from smartweb.tenancy.context import tenant_context
from tests.reliability.clients import admin_session, at_once
from tests.reliability.test_admin_inline_rows import _row

ROUNDS = 12


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_a_pipeline_page_and_an_api_stage_edit_at_once_never_deadlock(
    demo_org, first, live_url, read
):
    with tenant_context(demo_org):
        pipeline = services.pipeline_create(
            name=f"Pipeline {uuid.uuid4().hex[:6]}", acting_user=None
        )
        stage = pipeline.stages.order_by("position").first()
    api = admin_session(demo_org, name="stage edits")
    page = f"/admin/crm/pipeline/{pipeline.pk}/change/"
    stage_url = f"{live_url}/api/v1/pipeline-stages/{stage.pk}/"
    deadlocks_before = _deadlocks()
    answers = []
    for round_no in range(ROUNDS):
        form = first.form(page, "pipeline_form")
        form["description"] = f"Round {round_no}"
        form[f"stages-{_row(form, 'stages', stage.pk)}-name"] = f"Named {round_no}"
        probability = {"probability": f"{20 + round_no}.00"}
        saved, edited = at_once(
            lambda send: send(),
            [
                lambda f=form: first.post(page, f),
                lambda p=probability: api.patch(stage_url, json=p, timeout=60),
            ],
        )
        answers.append((saved, edited))
    # The API's edit waits for the page's save, or the page is refused as stale (the
    # stage changed since it was opened): never a deadlock, never a 409.
    assert [edited.status_code for _, edited in answers] == [200] * ROUNDS, [
        edited.text[:200] for _, edited in answers
    ]
    for saved, _ in answers:
        assert saved.status_code == 302 or "This pipeline stage was changed by" in saved.text
        assert CONFLICT_MESSAGE not in saved.text
    assert _deadlocks() == deadlocks_before
    with tenant_context(demo_org):
        stored = PipelineStage.objects.get(pk=stage.pk)
    assert str(stored.probability) == f"{20 + ROUNDS - 1}.00"
