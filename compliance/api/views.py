"""The compliance API: a lead's data export and erasure, consent records, requests.

    GET  /api/v1/leads/{id}/export/            JSON (or ?format=csv: a zip of CSV files)
    POST /api/v1/leads/{id}/erase/             anonymize the person, irreversibly
    GET|POST /api/v1/leads/{id}/consents/      consent records of the lead
    GET|POST /api/v1/compliance/requests/      data subject requests

A lead outside the user's read scope, or of another organization, is 404; exporting
needs `compliance:read` and erasing `compliance:delete` (403 without).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from compliance import services
from compliance.api import serializers as s
from compliance.api.filters import SubjectRequestFilter
from compliance.models import ConsentRecord, SubjectRequest
from leads.models import Lead
from smartweb import access
from smartweb.api.history import RecordHistoryMixin
from smartweb.api.permissions import HasResourcePermission
from smartweb.api.schema import ERROR
from smartweb.api.viewsets import ORGANIZATION_PARAMETER, OrganizationContextMixin
from smartweb.rbac import Action, Resource


class ZipRenderer(BaseRenderer):
    """Selected by `?format=csv` or `Accept: application/zip`; the view writes the bytes."""

    media_type = "application/zip"
    format = "csv"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


def visible_lead(user, pk) -> Lead:
    """A lead the user may read, deleted ones included (their data is still held)."""
    leads = access.visible(user, Action.READ, Lead.all_objects.all(), Resource.LEADS)
    return get_object_or_404(leads, pk=pk)


class SubjectView(OrganizationContextMixin, generics.GenericAPIView):
    """A view on one lead's person that needs a compliance permission first."""

    resource = Resource.COMPLIANCE
    compliance_action = Action.READ
    permission_classes = [IsAuthenticated]
    queryset = Lead.all_objects.none()

    def check_permissions(self, request):
        super().check_permissions(request)
        if not access.can(request.user, self.compliance_action, Resource.COMPLIANCE):
            self.permission_denied(request, message="You may not handle data subject requests.")


class SubjectExportView(SubjectView):
    renderer_classes = [JSONRenderer, ZipRenderer]

    @extend_schema(
        operation_id="v1_leads_subject_export",
        parameters=[
            ORGANIZATION_PARAMETER,
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"], required=False),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/zip"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request, pk):
        export = services.export_subject(
            lead=visible_lead(request.user, pk),
            acting_user=request.user,
            fmt=request.accepted_renderer.format,
            request=request,
        )
        response = HttpResponse(export.content, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response

    def handle_exception(self, exc):
        # Errors are JSON whatever file format was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class SubjectErasureView(SubjectView):
    compliance_action = Action.DELETE
    serializer_class = s.ErasureSerializer

    @extend_schema(
        operation_id="v1_leads_subject_erase",
        parameters=[ORGANIZATION_PARAMETER],
        request=s.ErasureSerializer,
        responses=s.SubjectRequestSerializer,
    )
    def post(self, request, pk):
        lead = visible_lead(request.user, pk)
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        pending = data.validated_data.get("subject_request")
        subject_request = (
            get_object_or_404(SubjectRequest.objects.all(), pk=pending) if pending else None
        )
        done = services.erase_subject(
            lead=lead, acting_user=request.user, subject_request=subject_request, request=request
        )
        return Response(s.SubjectRequestSerializer(done).data, status=status.HTTP_200_OK)


class ListCreateView(OrganizationContextMixin, generics.ListCreateAPIView):
    """Lists with `serializer_class`; a POST is read with `create_serializer_class`."""

    create_serializer_class: type | None = None

    def get_serializer_class(self):
        if self.request.method == "POST":
            return self.create_serializer_class
        return self.serializer_class


@extend_schema(parameters=[ORGANIZATION_PARAMETER])
class ConsentRecordListView(ListCreateView):
    """A lead's consent records, newest first; a new record takes effect at once."""

    resource = Resource.LEADS
    permission_classes = [HasResourcePermission]
    serializer_class = s.ConsentRecordSerializer
    create_serializer_class = s.ConsentRecordCreateSerializer
    queryset = ConsentRecord.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ConsentRecord.objects.none()
        lead = visible_lead(self.request.user, self.kwargs["pk"])
        return ConsentRecord.objects.filter(lead=lead).select_related("recorded_by")

    @extend_schema(
        request=s.ConsentRecordCreateSerializer,
        responses={201: s.ConsentRecordSerializer, 404: ERROR},  # a lead you cannot see
    )
    def post(self, request, pk):
        lead = visible_lead(request.user, pk)
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.consent_record(lead=lead, acting_user=request.user, **data.validated_data)
        return Response(s.ConsentRecordSerializer(record).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[ORGANIZATION_PARAMETER])
class SubjectRequestListView(ListCreateView):
    """Data subject requests, newest first (`?status=open` for the open ones)."""

    resource = Resource.COMPLIANCE
    permission_classes = [HasResourcePermission]
    serializer_class = s.SubjectRequestSerializer
    create_serializer_class = s.SubjectRequestCreateSerializer
    filterset_class = SubjectRequestFilter
    queryset = SubjectRequest.objects.none()

    def get_queryset(self):
        return SubjectRequest.objects.all()

    @extend_schema(
        request=s.SubjectRequestCreateSerializer,
        responses={201: s.SubjectRequestSerializer, 404: ERROR},  # a lead you cannot see
    )
    def post(self, request):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        lead = visible_lead(request.user, values.pop("lead"))
        created = services.subject_request_open(lead=lead, acting_user=request.user, **values)
        return Response(s.SubjectRequestSerializer(created).data, status=status.HTTP_201_CREATED)


class SubjectRequestDetailView(OrganizationContextMixin, generics.RetrieveAPIView):
    resource = Resource.COMPLIANCE
    permission_classes = [HasResourcePermission]
    serializer_class = s.SubjectRequestSerializer
    queryset = SubjectRequest.objects.none()

    def get_queryset(self):
        return SubjectRequest.objects.all()


class SubjectRequestHistoryView(RecordHistoryMixin, SubjectRequestDetailView):
    """`GET compliance/requests/{id}/history/`: who opened, answered and closed it."""
