"""One deal moved on by several people at the same moment, against four web workers: the
list's "Move to the next stage" and the deal page's steps. The deal moves once, one
person is told it moved, the others where it is now; none is told of a move that did not
happen, and none moves it a second time."""

from __future__ import annotations

import re

import pytest

from crm.models import Opportunity
from smartweb.tenancy.context import tenant_context
from tests.crm import factories
from tests.reliability.clients import StaffBrowser, at_once

PEOPLE = 4
MOVED_MEANWHILE = "It was moved meanwhile: it is now in the stage “{}”, and was not moved again."


@pytest.fixture(scope="module")
def people(live_url) -> list[StaffBrowser]:
    return [StaffBrowser(live_url) for _ in range(PEOPLE)]


def _stages(demo_org, deal) -> list[str]:
    with tenant_context(demo_org):
        stored = Opportunity.objects.select_related("stage").get(pk=deal.pk)
        ordered = deal.pipeline.stages.order_by("position").values_list("name", flat=True)
        return stored.stage.name, list(ordered)


def _moves(demo_org, deal) -> int:
    with tenant_context(demo_org):
        return Opportunity.history.filter(id=deal.pk).values("stage_id").distinct().count()


def _escaped(text: str) -> str:
    return text.replace("“", "&#x201c;").replace("”", "&#x201d;")


def _said(page: str, text: str) -> bool:
    return text in page or _escaped(text) in page


def test_next_stage_clicked_by_several_people_at_once_moves_the_deal_once(
    people, demo_org, live_url, read
):
    deal = factories.opportunity(demo_org)
    first_stage, stages = _stages(demo_org, deal)
    listed = f"/admin/crm/opportunity/?q={deal.name}"
    forms = [
        {
            **person.form(listed, "changelist-form"),
            "action": "move_to_next_stage",
            "_selected_action": str(deal.pk),
            "index": "0",
        }
        for person in people
    ]
    answers = at_once(lambda i: people[i].post(listed, forms[i]), range(PEOPLE))
    shown = [person.shown(answer) for person, answer in zip(people, answers, strict=True)]
    now, _ = _stages(demo_org, deal)
    assert now == stages[stages.index(first_stage) + 1]
    assert sum("Moved: 1." in page for page in shown) == 1
    assert sum(_said(page, MOVED_MEANWHILE.format(now)) for page in shown) == PEOPLE - 1
    assert _moves(demo_org, deal) == 2  # the stage it was created in, and one move


def _step_form(person: StaffBrowser, path: str) -> dict:
    """The step page's form as posted: its submission key (one per page opened)."""
    page = person.get(path).text
    return {"_submission": re.search(r'name="_submission" value="([^"]+)"', page).group(1)}


def test_a_deal_moved_to_one_stage_by_several_people_at_once_is_moved_once(
    people, demo_org, live_url, read
):
    deal = factories.opportunity(demo_org)
    first_stage, stages = _stages(demo_org, deal)
    with tenant_context(demo_org):
        target = deal.pipeline.stages.get(name=stages[stages.index(first_stage) + 2])
    step = f"/admin/crm/opportunity/{deal.pk}/steps/move/"
    forms = [{**_step_form(person, step), "stage": str(target.pk)} for person in people]
    answers = at_once(lambda i: people[i].post(step, forms[i]), range(PEOPLE))
    shown = [person.shown(answer) for person, answer in zip(people, answers, strict=True)]
    assert _stages(demo_org, deal)[0] == target.name
    # One is told it moved; the others that it moved meanwhile (or, opened after the
    # move, that the stage is no longer one to move to), never "Moved.".
    assert sum("Moved." in page for page in shown) == 1, [a.status_code for a in answers]
    assert _moves(demo_org, deal) == 2
