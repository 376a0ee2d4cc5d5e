"""CRM endpoints. Thin: input serializers validate shapes, `crm.services` does the work,
output serializers answer. Querysets are scoped by the base viewset (other
organizations' rows and rows outside the user's scope are 404)."""

from __future__ import annotations

from itertools import islice

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, filters, status
from rest_framework.decorators import action
from rest_framework.response import Response

from crm import selectors, services
from crm.api import filters as crm_filters
from crm.api import serializers as s
from crm.exceptions import InvalidTransition
from crm.models import (
    AICall,
    Campaign,
    Contract,
    Opportunity,
    Pipeline,
    PipelineStage,
    Proposal,
    ProposalLineItem,
    Task,
)
from crm.pipeline_locks import lock_pipeline
from leads.exceptions import InvalidTransition as LeadInvalidTransition
from savedviews.api.filters import SavedViewQuery
from sharing.api import SHARE_ACTION_PERMISSIONS, RecordSharesMixin
from smartweb import access
from smartweb.api.errors import Conflict
from smartweb.api.filters import FilterBackend, OrderingFilter
from smartweb.api.parameters import BoundedInt
from smartweb.api.viewsets import TenantModelViewSet, TenantReadOnlyViewSet
from smartweb.rbac import Action
from smartweb.replica import reporting_view

FILTER_BACKENDS = [FilterBackend, filters.SearchFilter, OrderingFilter]
# The lists a view can be saved of read `?view=` first.
SAVED_VIEW_BACKENDS = [SavedViewQuery, *FILTER_BACKENDS]


class CRMViewSet(TenantModelViewSet):
    """Base of the CRM viewsets: refusals of the workflows become 409 with the allowed
    next states; `input_serializers` name the input shape of each action, and
    `serializer_class` is the output."""

    filter_backends = FILTER_BACKENDS
    input_serializers: dict = {}
    action_permissions = {**TenantModelViewSet.action_permissions}

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, self.serializer_class)

    def handle_exception(self, exc):
        if isinstance(exc, InvalidTransition | LeadInvalidTransition):
            exc = Conflict(str(exc), allowed=exc.allowed)
        return super().handle_exception(exc)

    def read_input(self, partial: bool = False):
        serializer = self.get_serializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def answer(self, instance, code=status.HTTP_200_OK) -> Response:
        output = self.serializer_class(instance, context=self.get_serializer_context())
        return Response(output.data, status=code)

    def create(self, request, *args, **kwargs):
        return self.answer(self.perform_write(None, self.read_input()), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self.read_input(partial=kwargs.get("partial", False))
        return self.answer(self.perform_write(instance, data))

    def perform_write(self, instance, data):
        raise exceptions.MethodNotAllowed(self.request.method)


# --- pipelines ------------------------------------------------------------------------


PER_STAGE = BoundedInt("per_stage", default=50, low=1, high=200)
MONTHS = BoundedInt("months", default=6, low=1, high=24)


class PipelineViewSet(CRMViewSet):
    queryset = Pipeline.objects

    def base_queryset(self):
        if self.action == "board":  # the board reads the stages with their top cards
            return Pipeline.objects.all()
        return Pipeline.objects.prefetch_related("stages")

    serializer_class = s.PipelineSerializer
    input_serializers = {"create": s.PipelineCreateSerializer}
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def perform_write(self, instance, data):
        user = self.request.user
        if instance is None:
            return services.pipeline_create(acting_user=user, **data)
        return services.pipeline_update(pipeline=instance, acting_user=user, **data)

    def perform_destroy(self, instance):
        services.pipeline_delete(pipeline=instance, acting_user=self.request.user)

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[PER_STAGE.parameter],
    )
    @action(detail=True, methods=["get"])
    def board(self, request, *args, **kwargs):
        """The pipeline's stages, each with its opportunities, count and summed values."""
        pipeline = self.get_object()
        per_stage = PER_STAGE.read(request)
        columns = selectors.pipeline_board(
            pipeline=pipeline, user=request.user, per_stage=per_stage
        )
        # One serializer for every card: its fields are built once, not once per stage.
        cards = iter(
            s.OpportunitySerializer(
                [card for column in columns for card in column.opportunities],
                many=True,
                context=self.get_serializer_context(),
            ).data
        )
        return Response(
            {
                "pipeline": {"id": str(pipeline.pk), "name": pipeline.name},
                "stages": [
                    {
                        "id": str(column.stage.pk),
                        "name": column.stage.name,
                        "position": column.stage.position,
                        "probability": str(column.stage.probability),
                        "is_won": column.stage.is_won,
                        "is_lost": column.stage.is_lost,
                        "count": column.money.count,
                        "totals": [
                            {
                                "currency": total["currency"],
                                "value": str(total["value"]),
                                "weighted_value": str(total["weighted_value"]),
                            }
                            for total in column.money.totals()
                        ],
                        "opportunities": list(islice(cards, len(column.opportunities))),
                    }
                    for column in columns
                ],
            }
        )


class PipelineStageViewSet(CRMViewSet):
    queryset = PipelineStage.objects
    serializer_class = s.PipelineStageSerializer
    filterset_class = crm_filters.PipelineStageFilter
    ordering_fields = ["position", "name", "created_at"]

    def check_if_match(self, obj) -> None:
        # Its lock of the stage comes after its pipeline's, as every lock of both does.
        lock_pipeline(obj.pipeline_id)
        super().check_if_match(obj)

    def perform_write(self, instance, data):
        return services.stage_save(stage=instance, acting_user=self.request.user, **data)

    def perform_destroy(self, instance):
        services.stage_delete(stage=instance, acting_user=self.request.user)


# --- opportunities --------------------------------------------------------------------


class OpportunityViewSet(RecordSharesMixin, CRMViewSet):
    """Opportunities. Creating one converts a qualified lead (also `POST …/convert/`)."""

    queryset = Opportunity.objects
    serializer_class = s.OpportunitySerializer
    input_serializers = {
        "create": s.OpportunityConvertSerializer,
        "convert": s.OpportunityConvertSerializer,
        "update": s.OpportunityUpdateSerializer,
        "partial_update": s.OpportunityUpdateSerializer,
        "move_stage": s.MoveStageSerializer,
    }
    action_permissions = {
        **CRMViewSet.action_permissions,
        "convert": Action.CREATE,
        "move_stage": Action.UPDATE,
        **SHARE_ACTION_PERMISSIONS,
    }
    filter_backends = SAVED_VIEW_BACKENDS
    filterset_class = crm_filters.OpportunityFilter
    ordering_fields = [
        "weighted_value",
        "value",
        "expected_close_date",
        "created_at",
        "name",
        "updated_at",
    ]
    ordering = ["-created_at"]

    def base_queryset(self):
        return selectors.with_names(Opportunity.objects.all())

    def perform_write(self, instance, data):
        user = self.request.user
        if instance is None:
            opportunity = services.lead_convert(acting_user=user, **data)
        else:
            opportunity = services.opportunity_update(
                opportunity=instance, acting_user=user, **data
            )
        return self.base_queryset().get(pk=opportunity.pk)

    @extend_schema(responses={201: s.OpportunitySerializer})
    @action(detail=False, methods=["post"])
    def convert(self, request, *args, **kwargs):
        """Convert a qualified lead into an opportunity (409 for any other lead)."""
        return self.create(request, *args, **kwargs)

    @extend_schema(responses={200: s.OpportunitySerializer})
    @action(detail=True, methods=["post"], url_path="move-stage")
    def move_stage(self, request, *args, **kwargs):
        opportunity = self.get_object()
        data = self.read_input()
        services.opportunity_move_stage(opportunity=opportunity, acting_user=request.user, **data)
        return self.answer(self.base_queryset().get(pk=opportunity.pk))

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[MONTHS.parameter],
    )
    @action(detail=False, methods=["get"])
    @reporting_view
    def forecast(self, request, *args, **kwargs):
        """Per month: open value and weighted value expected to close, and value won."""
        months = MONTHS.read(request)
        rows = selectors.forecast(user=request.user, months=months)
        money = ("value", "weighted_value", "won_value")
        return Response(
            {"months": [{k: str(v) if k in money else v for k, v in row.items()} for row in rows]}
        )


# --- proposals ------------------------------------------------------------------------


class ProposalViewSet(CRMViewSet):
    queryset = Proposal.objects
    serializer_class = s.ProposalSerializer
    input_serializers = {
        "create": s.ProposalCreateSerializer,
        "update": s.ProposalWriteSerializer,
        "partial_update": s.ProposalWriteSerializer,
        "send": s.SendSerializer,
        "reject": s.RejectionSerializer,
    }
    action_permissions = {
        **CRMViewSet.action_permissions,
        "send": Action.UPDATE,
        "mark_viewed": Action.UPDATE,
        "accept": Action.UPDATE,
        "reject": Action.UPDATE,
    }
    filterset_class = crm_filters.ProposalFilter
    search_fields = ["number", "title"]
    ordering_fields = ["created_at", "number", "total", "valid_until"]

    def base_queryset(self):
        return selectors.with_line_items(Proposal.objects.all())

    def read_input(self, partial: bool = False):
        serializer = self.get_serializer(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        if hasattr(serializer, "service_arguments"):
            return serializer.service_arguments()
        return serializer.validated_data

    def perform_write(self, instance, data):
        user = self.request.user
        if instance is None:
            proposal = services.proposal_create(acting_user=user, **data)
        else:
            proposal = services.proposal_update(proposal=instance, acting_user=user, **data)
        return self.base_queryset().get(pk=proposal.pk)

    @extend_schema(request=s.SendSerializer, responses={200: s.ProposalSerializer})
    @action(detail=True, methods=["post"])
    def send(self, request, *args, **kwargs):
        proposal = self.get_object()
        handed_over = self.read_input()["handed_over"]
        proposal = services.proposal_send(
            proposal=proposal, acting_user=request.user, email=not handed_over
        )
        return self.answer(self.base_queryset().get(pk=proposal.pk))

    @extend_schema(request=None, responses={200: s.ProposalSerializer})
    @action(detail=True, methods=["post"], url_path="mark-viewed")
    def mark_viewed(self, request, *args, **kwargs):
        proposal = services.proposal_mark_viewed(
            proposal=self.get_object(), acting_user=request.user
        )
        return self.answer(self.base_queryset().get(pk=proposal.pk))

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def accept(self, request, *args, **kwargs):
        """Accept: the answer holds the proposal and the draft contract drawn from it."""
        contract = services.proposal_accept(proposal=self.get_object(), acting_user=request.user)
        context = self.get_serializer_context()
        return Response(
            {
                "proposal": self.serializer_class(
                    self.base_queryset().get(pk=contract.proposal_id), context=context
                ).data,
                "contract": s.ContractSerializer(contract, context=context).data,
            }
        )

    @extend_schema(responses={200: s.ProposalSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        proposal = services.proposal_reject(
            proposal=self.get_object(), acting_user=request.user, **self.read_input()
        )
        return self.answer(self.base_queryset().get(pk=proposal.pk))


class ProposalLineItemViewSet(TenantReadOnlyViewSet):
    """Line items, read-only: they are written with their proposal, as a whole."""

    queryset = ProposalLineItem.objects
    serializer_class = s.ProposalLineItemSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = crm_filters.ProposalLineItemFilter
    ordering_fields = ["position", "created_at"]


# --- contracts ------------------------------------------------------------------------


class ContractViewSet(CRMViewSet):
    """Contracts are drawn from accepted proposals (`POST /proposals/{id}/accept/`)."""

    queryset = Contract.objects
    serializer_class = s.ContractSerializer
    input_serializers = {
        "send": s.SendSerializer,
        "sign": s.SignSerializer,
        "set_status": s.ContractStatusSerializer,
    }
    action_permissions = {
        **CRMViewSet.action_permissions,
        "send": Action.UPDATE,
        "sign": Action.UPDATE,
        "set_status": Action.UPDATE,
    }
    filterset_class = crm_filters.ContractFilter
    search_fields = ["number", "title", "signer_name"]
    ordering_fields = ["created_at", "number", "value", "signed_at", "start_date"]

    create = None  # drawn from accepted proposals: POST /proposals/{id}/accept/

    def perform_write(self, instance, data):
        return services.contract_update(contract=instance, acting_user=self.request.user, **data)

    @extend_schema(request=s.SendSerializer, responses={200: s.ContractSerializer})
    @action(detail=True, methods=["post"])
    def send(self, request, *args, **kwargs):
        contract = self.get_object()
        handed_over = self.read_input()["handed_over"]
        return self.answer(
            services.contract_send(
                contract=contract, acting_user=request.user, email=not handed_over
            )
        )

    @extend_schema(responses={200: s.ContractSerializer})
    @action(detail=True, methods=["post"])
    def sign(self, request, *args, **kwargs):
        """Record the signature: the opportunity is won, the company a customer, the lead
        converted."""
        contract = services.contract_sign(
            contract=self.get_object(), acting_user=request.user, **self.read_input()
        )
        return self.answer(contract)

    @extend_schema(responses={200: s.ContractSerializer})
    @action(detail=True, methods=["post"], url_path="set-status")
    def set_status(self, request, *args, **kwargs):
        contract = services.contract_set_status(
            contract=self.get_object(), acting_user=request.user, **self.read_input()
        )
        return self.answer(contract)


# --- campaigns and calls --------------------------------------------------------------


class CampaignViewSet(CRMViewSet):
    queryset = Campaign.objects
    serializer_class = s.CampaignSerializer
    action_permissions = {
        **CRMViewSet.action_permissions,
        "launch": Action.UPDATE,
        "pause": Action.UPDATE,
        "cancel": Action.UPDATE,
        "webhook_secret": Action.UPDATE,
    }
    filterset_class = crm_filters.CampaignFilter
    search_fields = ["name"]
    ordering_fields = ["created_at", "name", "launched_at"]

    def perform_write(self, instance, data):
        return services.campaign_save(campaign=instance, acting_user=self.request.user, **data)

    def _step(self, service):
        return self.answer(service(campaign=self.get_object(), acting_user=self.request.user))

    @extend_schema(request=None, responses={200: s.CampaignSerializer})
    @action(detail=True, methods=["post"])
    def launch(self, request, *args, **kwargs):
        """Start or resume calling; the first pass is queued at once."""
        return self._step(services.campaign_launch)

    @extend_schema(request=None, responses={200: s.CampaignSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, *args, **kwargs):
        return self._step(services.campaign_pause)

    @extend_schema(request=None, responses={200: s.CampaignSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        return self._step(services.campaign_cancel)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    @reporting_view
    def stats(self, request, *args, **kwargs):
        """Leads still to call, and the campaign's calls by status and by outcome: of
        the leads and calls the user may see (a rep counts their own)."""
        campaign = self.get_object()
        user = request.user
        targets = services.campaign_targets(campaign)
        return Response(
            {
                "targets_remaining": access.visible(user, Action.READ, targets).count(),
                **selectors.campaign_call_outcomes(user=user, campaign=campaign),
            }
        )

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], url_path="webhook-secret")
    def webhook_secret(self, request, *args, **kwargs):
        """A new webhook signing secret for the AI call provider, shown this once."""
        secret = services.webhook_secret_rotate(acting_user=request.user)
        return Response({"secret": secret, "webhook_url": "/api/v1/webhooks/ai-calls/"})


class AICallViewSet(CRMViewSet):
    """AI call records: written by the campaign jobs and the provider's webhook."""

    queryset = AICall.objects
    serializer_class = s.AICallSerializer
    # queued by launching a campaign (POST /campaigns/{id}/launch/), never written here
    create = update = partial_update = None
    filterset_class = crm_filters.AICallFilter
    ordering_fields = ["created_at", "started_at", "cost", "duration_seconds"]


# --- tasks ----------------------------------------------------------------------------


# Lists of tasks like the main one: its filters, ordering and pages.
TASK_LIST = extend_schema(responses=s.TaskSerializer(many=True))


@extend_schema_view(mine=TASK_LIST, overdue=TASK_LIST, due_today=TASK_LIST)
class TaskViewSet(CRMViewSet):
    queryset = Task.objects
    serializer_class = s.TaskSerializer
    action_permissions = {**CRMViewSet.action_permissions, "complete": Action.UPDATE}
    filter_backends = SAVED_VIEW_BACKENDS
    filterset_class = crm_filters.TaskFilter
    search_fields = ["title", "description"]
    ordering_fields = ["due_at", "priority", "created_at", "status", "updated_at"]

    def perform_write(self, instance, data):
        user = self.request.user
        if instance is None:
            return services.task_create(acting_user=user, **data)
        return services.task_update(task=instance, acting_user=user, **data)

    def _list(self, queryset):
        page = self.paginate_queryset(self.filter_queryset(queryset))
        data = self.serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    @action(detail=False, methods=["get"])
    def mine(self, request, *args, **kwargs):
        """My open tasks, soonest first."""
        return self._list(self.get_queryset().open().filter(assigned_to=request.user))

    @action(detail=False, methods=["get"])
    def overdue(self, request, *args, **kwargs):
        """Open tasks past their due time, within my scope."""
        return self._list(self.get_queryset().overdue())

    @action(detail=False, methods=["get"], url_path="due-today")
    def due_today(self, request, *args, **kwargs):
        """Open tasks due today (UTC day), within my scope."""
        return self._list(self.get_queryset().due_today())

    @extend_schema(request=None, responses={200: s.TaskSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, *args, **kwargs):
        return self.answer(services.task_complete(task=self.get_object(), acting_user=request.user))
