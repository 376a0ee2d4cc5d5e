"""The one order in which a pipeline and its stages are locked.

A stage's edit checks its siblings (names, the won and lost flags) and so needs the
pipeline held; the pipeline's page saves the pipeline and its stages together. The API's
stage edit locked the stage (its `If-Match` check, then `stage_save`) and then the
pipeline, while the admin's pipeline page locked the pipeline (its version check) and
then the stages it changed: two such saves at once could each hold what the other waited
for, and one of them lost a deadlock. Every change that locks both takes them here,
first the pipeline, then all its stages in id order, before locking any of them itself
(`lock_pipeline`); locking them again later in the same transaction waits for nothing.

A deal put into a stage (moved there, or converted into its pipeline's first stage) does
not change the pipeline, but must not land in a stage deleted meanwhile: a stage's
delete checked that no deal was in it, and a move committed after that check left its
deal in the deleted stage. Such a writer holds the pipeline in share mode
(`hold_pipeline`), which every `lock_pipeline` waits for, and then reads the stage: any
delete of a stage or of the pipeline either committed before (the stage is then read as
deleted) or waits until the deal is in its stage (and then finds it there). Writers
holding it in share mode do not wait for each other: moves in one pipeline run side by
side.
"""

from __future__ import annotations

from django.db import connection

from crm.models import Pipeline, PipelineStage
from smartweb.models import stored_rows
from smartweb.tenancy.context import current_organization_id
from smartweb.writes import locked_rows


def lock_pipeline(pipeline_id) -> None:
    """Lock the pipeline `pipeline_id`, then its stages in id order (deleted ones too),
    until the transaction ends."""
    locked_rows(Pipeline, [Pipeline(pk=pipeline_id)])
    locked_rows(PipelineStage, stored_rows(PipelineStage).filter(pipeline_id=pipeline_id))


def hold_pipeline(pipeline_id) -> None:
    """Hold the pipeline `pipeline_id` in share mode until the transaction ends (`FOR KEY
    SHARE`, as a row referencing it does): `lock_pipeline`, which every delete of the
    pipeline or of one of its stages takes first, waits for it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Pipeline._meta.db_table} WHERE organization_id = %s AND id = %s"
            " FOR KEY SHARE",
            [current_organization_id(), pipeline_id],
        )
