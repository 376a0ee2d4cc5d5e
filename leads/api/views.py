"""The leads API: companies, leads, interactions, tags and enrichments.

The base viewset scopes every queryset through the permission service (other
organizations' rows and rows outside one's scope are 404) and checks the role permission
(403). Views stay thin: input serializers validate shapes and references, the services
do the work, and the output serializers read rows fetched with their relations.
"""

from __future__ import annotations

import io

from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from compliance.erased import lock_company_leads
from crm.selectors import lead_count_rows
from leads import csv_io, duplicate_notice, selectors, services
from leads.api import filters
from leads.api import serializers as s
from leads.exceptions import DuplicateLead, InvalidTransition
from leads.models import Company, Interaction, Lead, LeadEnrichment, Tag
from savedviews.api.filters import SavedViewQuery
from sharing.api import SHARE_ACTION_PERMISSIONS, RecordSharesMixin
from smartweb import access
from smartweb.api.errors import Conflict
from smartweb.api.filters import applied_filters
from smartweb.api.pagination import CappedCountPagination, LargeListCursorPagination
from smartweb.api.permissions import HasResourcePermission, required_action
from smartweb.api.viewsets import TenantModelViewSet
from smartweb.rbac import Action, Resource, Scope
from smartweb.replica import reporting_view


class ServiceModelViewSet(TenantModelViewSet):
    """CRUD whose writes call services: `input_serializers` per action, output otherwise.

    Subclasses define `base_queryset()`: a class-level `queryset` is built at import
    time, outside any organization, where the tenant managers return no rows; it only
    names the model here.
    """

    input_serializers: dict[str, type] = {}

    def get_serializer_class(self):
        return self.input_serializers.get(self.action, self.serializer_class)

    def respond(self, instance, status_code=status.HTTP_200_OK) -> Response:
        fresh = self.base_queryset().get(pk=instance.pk)
        # Read after the write, in its transaction: the row as written, whose version the
        # answer's ETag gives without another statement.
        self._shown_row = fresh
        return Response(self.serializer_class(fresh).data, status=status_code)

    def validated(self, serializer_class=None, **kwargs) -> dict:
        serializer = (serializer_class or self.get_serializer_class())(
            data=self.request.data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def update(self, request, *args, partial=False, **kwargs):
        # Both change only the fields given; a PUT gives every field its schema requires
        # (it carries the whole object), a PATCH any of them.
        instance = self.get_object()
        data = self.validated(partial=partial)
        return self.respond(self.perform_service_update(instance, data))

    def perform_service_update(self, instance, data):
        raise NotImplementedError


class CompanyViewSet(ServiceModelViewSet):
    queryset = Company.objects.all()
    serializer_class = s.CompanySerializer
    pagination_class = CappedCountPagination
    filterset_class = filters.CompanyFilter
    ordering_fields = ["name", "created_at", "updated_at", "city", "business_type"]
    ordering = ["name", "id"]

    def base_queryset(self):
        return Company.objects.defer("search_vector")

    def check_if_match(self, obj) -> None:
        # Its lock of the company comes after its leads', as every lock of both does.
        lock_company_leads(obj)
        super().check_if_match(obj)

    def create(self, request, *args, **kwargs):
        company = services.company_create(acting_user=request.user, data=self.validated())
        return self.respond(company, status.HTTP_201_CREATED)

    def perform_service_update(self, instance, data):
        return services.company_update(company=instance, acting_user=self.request.user, data=data)

    def perform_destroy(self, instance):
        services.company_delete(company=instance, acting_user=self.request.user)


def _conflict(exc: InvalidTransition) -> Conflict:
    return Conflict(str(exc), allowed=exc.allowed)


def _duplicates_error(exc: DuplicateLead, user) -> ValidationError:
    """The refusal with the matching leads; those the user may not read have no id nor
    company, only the keys they share."""
    told = duplicate_notice.notices(user, [(d.lead, d.matched_on) for d in exc.duplicates])
    return ValidationError(
        {
            "non_field_errors": [str(exc)],
            "duplicates": [
                {
                    "id": str(notice.record.pk) if notice.record else None,
                    "company": notice.record.company.name if notice.record else None,
                    "matched_on": list(notice.matched_on),
                }
                for notice in told
            ],
        }
    )


class LeadViewSet(RecordSharesMixin, ServiceModelViewSet):
    queryset = Lead.objects.all()
    serializer_class = s.LeadSerializer
    pagination_class = CappedCountPagination
    input_serializers = {
        "create": s.LeadCreateSerializer,
        "update": s.LeadUpdateSerializer,
        "partial_update": s.LeadUpdateSerializer,
        "qualify": s.ReasonSerializer,
        "change_status": s.ChangeStatusSerializer,
        "merge": s.MergeSerializer,
    }
    # `?view=` (a saved view) first, then the usual filters and ordering.
    filter_backends = [SavedViewQuery, *api_settings.DEFAULT_FILTER_BACKENDS]
    filterset_class = filters.LeadFilter
    ordering_fields = [
        "lead_score",
        "created_at",
        "updated_at",
        "last_contacted_at",
        "next_follow_up_at",
        "status",
        "company__name",
    ]
    ordering = ["-lead_score", "-created_at", "id"]
    # A live lead's company is live (a company's deletion takes its lead, and a lead is
    # not restored under a deleted company: smartweb.restore_parents); said, the planner
    # reads the companies in name order from their index of live ones (company_org_name)
    # instead of sorting all of the organization's.
    ordering_conditions = {"company__name": Q(company__deleted_at__isnull=True)}
    action_permissions = {
        "restore": Action.DELETE,
        "qualify": Action.UPDATE,
        "change_status": Action.UPDATE,
        "rescore": Action.UPDATE,
        "merge": Action.UPDATE,
        **SHARE_ACTION_PERMISSIONS,
    }

    def get_serializer_class(self):
        if self.action == "list":
            return s.LeadListSerializer
        return super().get_serializer_class()

    # The list's filters the lead rollup can count by (crm.selectors.lead_count_rows).
    ROLLUP_COUNTED = {"status": "statuses", "source": "sources", "assigned_to": "owner_id"}

    def counted_rows(self):
        """The lead rollup's counts of the leads the list's filters leave, when it can
        count them (only its filters applied); None otherwise: the page counts itself. A
        lead's own pages (its timeline) count their own rows."""
        if self.action != "list":
            return None
        applied = applied_filters(self)
        if applied is None or not applied.keys() <= self.ROLLUP_COUNTED.keys():
            return None
        arguments = {self.ROLLUP_COUNTED[name]: value for name, value in applied.items()}
        return lead_count_rows(self.request.user, **arguments)

    def base_queryset(self):
        leads = Lead.objects.defer("search_vector")
        if self.action == "list":  # its serializer leaves the breakdown out (ADR 0007)
            leads = leads.defer("score_breakdown")
        if self.action == "export":  # reads its own columns, for every row
            return leads.select_related("assigned_to")
        if self.action == "timeline":  # the lead is read to check access, not shown
            return leads
        return selectors.with_summaries(leads)

    @extend_schema(request=s.LeadCreateSerializer, responses={201: s.LeadSerializer})
    def create(self, request, *args, **kwargs):
        data = self.validated()
        try:
            lead = services.lead_create(
                acting_user=request.user,
                data={k: v for k, v in data.items() if k in s.LeadWriteSerializer.LEAD_FIELDS},
                company=data.get("company_id"),
                company_data=data.get("company"),
                tags=data.get("tags", ()),
                allow_duplicate=data["allow_duplicate"],
            )
        except DuplicateLead as exc:
            raise _duplicates_error(exc, request.user) from exc
        return self.respond(lead, status.HTTP_201_CREATED)

    @extend_schema(request=s.LeadUpdateSerializer, responses=s.LeadSerializer)
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @extend_schema(request=s.LeadUpdateSerializer, responses=s.LeadSerializer)
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def perform_service_update(self, instance, data):
        try:
            return services.lead_update(
                lead=instance,
                acting_user=self.request.user,
                data={k: v for k, v in data.items() if k in s.LeadUpdateSerializer.LEAD_FIELDS},
                company_data=data.get("company"),
                tags=data.get("tags"),
                status_reason=data.get("status_reason", ""),
            )
        except InvalidTransition as exc:
            raise _conflict(exc) from exc

    def perform_destroy(self, instance):
        services.lead_delete(lead=instance, acting_user=self.request.user)

    @extend_schema(request=s.ReasonSerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def qualify(self, request, *args, **kwargs):
        """Qualify the lead; below the organization's threshold a reason is required."""
        lead = self.get_object()
        data = self.validated()
        try:
            lead = services.lead_qualify(lead=lead, acting_user=request.user, reason=data["reason"])
        except InvalidTransition as exc:
            raise _conflict(exc) from exc
        return self.respond(lead)

    @extend_schema(request=s.ChangeStatusSerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"], url_path="change-status")
    def change_status(self, request, *args, **kwargs):
        """Move the lead along the workflow; 409 with the allowed next states if not."""
        lead = self.get_object()
        data = self.validated()
        try:
            lead = services.lead_change_status(
                lead=lead, status=data["status"], acting_user=request.user, reason=data["reason"]
            )
        except InvalidTransition as exc:
            raise _conflict(exc) from exc
        return self.respond(lead)

    @extend_schema(request=None, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def rescore(self, request, *args, **kwargs):
        lead = services.lead_rescore(lead=self.get_object(), acting_user=request.user)
        return self.respond(lead)

    @extend_schema(request=s.MergeSerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, *args, **kwargs):
        """Merge the given duplicates into this lead (they need your delete permission, and
        this lead your role's edit permission: a lead shared with you is not merged into)."""
        lead = self.get_object()
        data = self.validated()
        lead = services.leads_merge(
            primary=lead, duplicates=data["duplicates"], acting_user=request.user
        )
        return self.respond(lead)

    @extend_schema(responses=s.DuplicateSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # every match, one list
    def duplicates(self, request, *args, **kwargs):
        """Leads you can see that share this lead's phone, email or website domain."""
        lead = self.get_object()
        found = selectors.duplicates_of(lead, queryset=self.get_queryset())
        data = [{"lead": d.lead, "matched_on": d.matched_on} for d in found]
        return Response(s.DuplicateSerializer(data, many=True).data)

    # filters=True: the schema lists the list's filters, which apply here too.
    @extend_schema(responses=s.DuplicateReportSerializer, filters=True)
    @action(detail=False, methods=["get"], url_path="duplicates")
    def duplicate_groups(self, request, *args, **kwargs):
        """Groups of duplicate leads among those you can see (filters apply)."""
        groups, truncated = selectors.duplicate_groups(self.filter_queryset(self.get_queryset()))
        return Response(
            s.DuplicateReportSerializer({"groups": groups, "truncated": truncated}).data
        )

    @extend_schema(responses=s.InteractionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def timeline(self, request, *args, **kwargs):
        """The lead's interactions, newest first."""
        lead = self.get_object()
        interactions = access.visible(
            request.user,
            Action.READ,
            selectors.with_creator(Interaction.objects.filter(lead=lead).defer("search_vector")),
        ).order_by("-occurred_at", "-created_at")
        page = self.paginate_queryset(interactions)
        return self.get_paginated_response(s.InteractionSerializer(page, many=True).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}, filters=True)
    @action(detail=False, methods=["get"])
    @reporting_view
    def export(self, request, *args, **kwargs):
        """The leads you can see (filters apply) as CSV; the export is audited."""
        out = io.StringIO()
        csv_io.export_leads(
            queryset=self.filter_queryset(self.get_queryset()),
            out=out,
            acting_user=request.user,
            request=request._request,
            description=request.GET.urlencode()[:500],
        )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"leads-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class InteractionViewSet(ServiceModelViewSet):
    queryset = Interaction.objects.all()
    serializer_class = s.InteractionSerializer
    input_serializers = {
        "create": s.InteractionCreateSerializer,
        "update": s.InteractionWriteSerializer,
        "partial_update": s.InteractionWriteSerializer,
    }
    filterset_class = filters.InteractionFilter
    # Interactions grow into the millions: cursor pages, no COUNT(*).
    pagination_class = LargeListCursorPagination
    ordering_fields = ["created_at", "occurred_at"]
    ordering = ["-created_at"]

    def base_queryset(self):
        return selectors.with_creator(Interaction.objects.defer("search_vector"))

    def create(self, request, *args, **kwargs):
        data = dict(self.validated())
        lead = data.pop("lead")
        interaction = services.interaction_log(lead=lead, acting_user=request.user, data=data)
        return self.respond(interaction, status.HTTP_201_CREATED)

    def perform_service_update(self, instance, data):
        return services.interaction_update(
            interaction=instance, acting_user=self.request.user, data=data
        )

    def perform_destroy(self, instance):
        services.interaction_delete(interaction=instance, acting_user=self.request.user)


class EnrichmentViewSet(ServiceModelViewSet):
    queryset = LeadEnrichment.objects.all()
    serializer_class = s.EnrichmentSerializer
    input_serializers = {
        "create": s.EnrichmentCreateSerializer,
        "update": s.EnrichmentWriteSerializer,
        "partial_update": s.EnrichmentWriteSerializer,
    }
    filterset_class = filters.EnrichmentFilter
    ordering_fields = ["fetched_at", "created_at"]
    ordering = ["-fetched_at", "id"]

    def base_queryset(self):
        return LeadEnrichment.objects.all()

    def create(self, request, *args, **kwargs):
        data = dict(self.validated())
        enrichment = services.enrichment_record(acting_user=request.user, **data)
        return self.respond(enrichment, status.HTTP_201_CREATED)

    def perform_service_update(self, instance, data):
        data = dict(data)
        data.pop("apply", None)
        return services.enrichment_update(
            enrichment=instance, acting_user=self.request.user, data=data
        )


class TagPermission(HasResourcePermission):
    """Tags are the organization's vocabulary: whoever may read leads reads them all;
    creating needs lead creation; renaming or deleting needs team scope or more."""

    def has_object_permission(self, request, view, obj):
        needed = required_action(request, view)
        if needed == Action.READ:
            return True
        return access.scope_for(request.user, needed, Resource.LEADS) in (Scope.TEAM, Scope.ALL)


class TagViewSet(ServiceModelViewSet):
    queryset = Tag.objects.all()
    serializer_class = s.TagSerializer
    permission_classes = [TagPermission]
    filterset_class = filters.TagFilter
    ordering_fields = ["name", "created_at"]
    ordering = ["name", "id"]

    def base_queryset(self):
        return Tag.objects.all()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or not access.can(
            self.request.user, Action.READ, Resource.LEADS
        ):
            return Tag.objects.none()
        return self.base_queryset()

    def create(self, request, *args, **kwargs):
        tag = services.tag_create(acting_user=request.user, data=self.validated())
        return self.respond(tag, status.HTTP_201_CREATED)

    def perform_service_update(self, instance, data):
        return services.tag_update(tag=instance, acting_user=self.request.user, data=data)

    def perform_destroy(self, instance):
        services.tag_delete(tag=instance, acting_user=self.request.user)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def restore(self, request, *args, **kwargs):
        tag = self.get_object_from(Tag.all_objects.filter(deleted_at__isnull=False))
        services.tag_restore(tag=tag, acting_user=request.user)
        return self.respond(tag)
