"""The pipeline board in the admin: a kanban of the pipeline's stages, filtered by owner
and expected close date, whose cards are dragged between stages (crm/static/crm/board.js).

A drop is a POST to `move_view`, which moves the deal through the same service as the
API's stage move (its rules, permission check and history), under the version the card
was drawn with: a deal changed by someone since is refused, as a stale admin form is
(ADR 0012). It answers JSON: the card and every stage's totals as they now are, or why
the move was refused (the card then goes back where it was), in words also when another
change held the deal past the lock timeout or won a deadlock (409, as a stale card is).
Without JavaScript the page is the same board, read-only.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import number_format
from django.views.decorators.http import require_POST

from crm import close_reason, selectors, services
from crm.exceptions import InvalidTransition
from crm.models import Opportunity, PipelineStage
from crm.owner_filter import OwnerFilterField
from smartweb import access
from smartweb.admin import attempt, is_concurrent_change
from smartweb.admin_versions import stale_message
from smartweb.errors import refusal_message
from smartweb.rbac import Action, Resource
from smartweb.versioning import locked_version, version_of

# Cards shown per stage; the rest are behind the stage's "All N…" link.
CARDS_PER_STAGE = 25


class BoardFilterForm(forms.Form):
    owner = OwnerFilterField(label="Owner")
    closes_from = forms.DateField(
        required=False, label="Closing from", widget=forms.DateInput(attrs={"type": "date"})
    )
    closes_until = forms.DateField(
        required=False, label="until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data, *, user):
        super().__init__(data)
        self.fields["owner"].offer_owners_seen_by(user)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("closes_from"), cleaned.get("closes_until")
        if start and end and start > end:
            raise forms.ValidationError("The close date range ends before it starts.")
        return cleaned

    def filters(self) -> selectors.BoardFilters:
        """The valid filters (an invalid one is left out, and shown as an error)."""
        data = self.cleaned_data if self.is_valid() else {}
        owner = data.get("owner")
        return selectors.BoardFilters(
            owner_id=owner.pk if owner else None,
            closes_from=data.get("closes_from"),
            closes_until=data.get("closes_until"),
        )


class MoveForm(forms.Form):
    opportunity = forms.UUIDField()
    stage = forms.UUIDField()
    # The version of the deal the card was drawn with (optimistic concurrency).
    version = forms.CharField(required=False, max_length=40)
    # Why, for a won or lost stage (checked then, by `close_reason`).
    reason = forms.CharField(required=False)


def _pipeline(model_admin, request, object_id):
    """The pipeline, if the user may see it: another organization's is a 404."""
    pipeline = get_object_or_404(
        model_admin.get_queryset(request).filter(deleted_at__isnull=True), pk=object_id
    )
    if not model_admin.has_view_permission(request, pipeline):
        raise PermissionDenied
    return pipeline


def _card(opportunity: Opportunity) -> Opportunity:
    """The card's texts, formatted here once: as template filters and a URL tag per card
    they were three quarters of rendering 150 cards (bench/README.md)."""
    owner = opportunity.owner_summary or {}  # the listed JSON summary (`with_names`)
    opportunity.board_version = version_of(opportunity.updated_at)
    opportunity.change_url = reverse("admin:crm_opportunity_change", args=[opportunity.pk])
    opportunity.value_text = number_format(opportunity.value, 2, force_grouping=True)
    opportunity.probability_text = f"{opportunity.probability:.0f}%"
    opportunity.owner_name = owner.get("full_name") or owner.get("email") or ""
    closes = opportunity.expected_close_date
    opportunity.closes_text = closes.isoformat() if closes else ""
    return opportunity


def board_view(request, model_admin, object_id):
    pipeline = _pipeline(model_admin, request, object_id)
    form = BoardFilterForm(request.GET or None, user=request.user)
    columns = selectors.pipeline_board(
        pipeline=pipeline, user=request.user, per_stage=CARDS_PER_STAGE, filters=form.filters()
    )
    for column in columns:
        for opportunity in column.opportunities:
            _card(opportunity)
    may_move = access.can(request.user, Action.UPDATE, Resource.OPPORTUNITIES)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{pipeline.name}: board",
        "opts": model_admin.model._meta,
        "pipeline": pipeline,
        "pipelines": model_admin.get_queryset(request).filter(deleted_at__isnull=True),
        "columns": columns,
        "filter_form": form,
        "may_move": may_move,
        "won_reason_max_length": close_reason.MAX_LENGTH["won"],
        "lost_reason_max_length": close_reason.MAX_LENGTH["lost"],
    }
    return TemplateResponse(request, "crm/admin/board.html", context)


def _refused(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _status_of(exc: Exception) -> int:
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, InvalidTransition) or is_concurrent_change(exc):
        return 409
    return 400


@require_POST
def move_view(request, model_admin, object_id):
    """Move one deal of the board to a stage; JSON either way (see the module's doc)."""
    pipeline = _pipeline(model_admin, request, object_id)
    user = request.user
    if not access.can(user, Action.UPDATE, Resource.OPPORTUNITIES):
        return _refused("You may not move opportunities.", 403)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _refused(" ".join(e for errors in form.errors.values() for e in errors), 400)
    data = form.cleaned_data
    deals = selectors.visible_opportunities(user).filter(pipeline=pipeline)
    opportunity = deals.filter(pk=data["opportunity"]).first()
    stage = PipelineStage.objects.filter(pipeline=pipeline, pk=data["stage"]).first()
    if opportunity is None or stage is None:
        return _refused("This deal or stage is not on this board any more.", 404)
    outcome = close_reason.outcome_of(stage)
    problem = outcome and close_reason.refusal(outcome, data["reason"])
    if problem:
        return _refused(problem, 400)

    def move():
        current = locked_version(Opportunity, opportunity.pk)
        if data["version"] and current != data["version"]:
            return _refused(stale_message(opportunity, data["version"]), 409)
        services.opportunity_move_stage(
            opportunity=opportunity,
            stage=stage,
            acting_user=user,
            **close_reason.move_arguments(outcome, data["reason"]),
        )
        return None

    # A refusal of the services, or a concurrent change holding the deal or winning a
    # deadlock (`attempt`): why, in words, for the board to show; nothing written.
    stale, refusal = attempt(move)
    if refusal is not None:
        message = refusal_message(refusal, default="You may not move this opportunity.")
        return _refused(message, _status_of(refusal))
    return stale or JsonResponse(_moved(request, pipeline, opportunity.pk))


def _moved(request, pipeline, pk) -> dict:
    """The moved card and every stage's totals, rendered as the page renders them."""
    filters = BoardFilterForm(request.GET or None, user=request.user).filters()
    card = _card(selectors.with_names(selectors.visible_opportunities(request.user)).get(pk=pk))
    money = selectors.board_money(pipeline=pipeline, user=request.user, filters=filters)
    stages = PipelineStage.objects.filter(pipeline=pipeline)
    return {
        "stage": str(card.stage_id),
        "card": render_to_string(
            "crm/admin/board_card.html", {"opportunity": card, "may_move": True}, request
        ),
        "sums": {
            str(stage.pk): render_to_string(
                "crm/admin/board_sum.html", {"money": money.get(stage.pk) or selectors.Money()}
            )
            for stage in stages
        },
        "version": card.board_version,
    }
