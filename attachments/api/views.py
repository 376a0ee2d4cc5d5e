"""`/api/v1/attachments/`: upload (multipart), list (`?lead=…`), download, delete.

An attachment is read by whoever may read its record and attached or deleted by whoever
may change it (ADR 0030): the list holds only those, another organization's or another
rep's are 404, and a record one sees but may not change is a 403.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from attachments import content, files, selectors, services
from attachments.api import serializers as s
from attachments.downloads import file_response
from attachments.models import RECORD_RESOURCES, Attachment
from smartweb.api.errors import TooLarge
from smartweb.api.filters import FilterSet
from smartweb.api.viewsets import OrganizationContextMixin
from smartweb.rbac import Action


class StorageUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The file could not be stored; try again shortly."
    default_code = "storage_unavailable"


class AttachmentFilter(FilterSet):
    lead = django_filters.UUIDFilter()
    company = django_filters.UUIDFilter()
    opportunity = django_filters.UUIDFilter()
    proposal = django_filters.UUIDFilter()
    contract = django_filters.UUIDFilter()

    class Meta:
        model = Attachment
        fields = list(RECORD_RESOURCES)


class RecordPermission(permissions.BasePermission):
    """Reading needs a read scope on some kind of record, attaching and deleting an update
    scope (403 without); the row's own record decides the rest (the queryset and the
    service)."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in permissions.SAFE_METHODS:
            return selectors.may_read_anything(request.user)
        return selectors.may_attach_anything(request.user)


class AttachmentViewSet(
    OrganizationContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Attachment.objects
    serializer_class = s.AttachmentSerializer
    # The input shape of each action (the security tests read its choosers too).
    input_serializers = {"create": s.AttachmentUploadSerializer}
    permission_classes = [RecordPermission]
    parser_classes = [MultiPartParser]
    filterset_class = AttachmentFilter
    ordering_fields = ["created_at", "original_name", "size"]
    ordering = ["-created_at", "id"]
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    # The RBAC resources an attachment's access follows, one per kind of record.
    record_resources = tuple(RECORD_RESOURCES.values())
    # Attaching a file changes its record.
    action_permissions = {"create": Action.UPDATE, "destroy": Action.UPDATE}

    def get_queryset(self):
        queryset = Attachment.objects.select_related("uploaded_by")
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return selectors.attachments_visible(self.request.user, queryset)

    @extend_schema(
        request={"multipart/form-data": s.AttachmentUploadSerializer},
        responses={201: s.AttachmentSerializer},
    )
    def create(self, request, *args, **kwargs):
        upload = s.AttachmentUploadSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        upload.is_valid(raise_exception=True)
        try:
            attachment = services.attachment_create(
                record=upload.validated_data["record"],
                upload=upload.validated_data["file"],
                acting_user=request.user,
            )
        except content.TooLarge as exc:
            raise TooLarge(exc.messages[0]) from exc
        except content.Refused as exc:
            raise exceptions.ValidationError({"file": exc.messages}) from exc
        except files.StorageFailed as exc:
            raise StorageUnavailable() from exc
        output = self.get_serializer(attachment)
        return Response(output.data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.attachment_delete(attachment=instance, acting_user=self.request.user)

    @extend_schema(
        responses={
            # Served as the type it was stored with (a PDF as application/pdf, a text
            # file as text/plain): any media type.
            (200, "*/*"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as an attachment, of its type."
            )
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, *args, **kwargs):
        return file_response(self.get_object())
