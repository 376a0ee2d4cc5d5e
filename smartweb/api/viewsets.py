"""Base API views: organization context after authentication, permission service on
every queryset and object. A new endpoint subclassing these is secure by default."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import APIToken
from accounts.tenancy import ORGANIZATION_HEADER, activate_request
from smartweb import access
from smartweb.api.history import HistoryMixin
from smartweb.api.permissions import HasResourcePermission
from smartweb.rbac import Action

ORGANIZATION_PARAMETER = OpenApiParameter(
    name="X-Organization",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Organization id or slug (default: your default or only membership).",
)


class OrganizationContextMixin:
    """Sets the organization context right after DRF authenticates the request.

    `resource` (the RBAC resource) defaults to the queryset model's `rbac_resource`.
    """

    @property
    def resource(self) -> str:
        return self.queryset.model.rbac_resource

    def base_queryset(self):
        """A fresh queryset per request. A class-level `queryset` is built at import,
        outside any organization, and the tenant manager has made it empty; only its model
        is used. Override to add select_related/prefetch_related."""
        return self.queryset.model._default_manager.all()

    def perform_authentication(self, request):
        super().perform_authentication(request)
        user = request.user
        if user is not None and user.is_authenticated:
            activate_request(
                request._request,
                user,
                requested=request.META.get(ORGANIZATION_HEADER) or None,
                token=request.auth if isinstance(request.auth, APIToken) else None,
            )


@extend_schema_view(
    list=extend_schema(parameters=[ORGANIZATION_PARAMETER]),
    retrieve=extend_schema(parameters=[ORGANIZATION_PARAMETER]),
)
class TenantModelViewSet(HistoryMixin, OrganizationContextMixin, viewsets.ModelViewSet):
    """CRUD on a tenant model. Subclasses set `queryset`, `resource`, serializers.

    - the queryset is narrowed to the rows the user may read (others are 404);
    - writes need the role permission (403) and the object scope;
    - DELETE soft-deletes; `POST …/{id}/restore/` brings a row back;
    - `GET …/{id}/history/` lists the row's changes (smartweb.api.history).
    """

    permission_classes = [HasResourcePermission]
    action_permissions: dict[str, str] = {"restore": Action.DELETE}
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        queryset = self.base_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return access.visible(self.request.user, Action.READ, queryset, self.resource)

    def perform_destroy(self, instance):
        instance.delete()

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def restore(self, request, *args, **kwargs):
        model = self.queryset.model
        queryset = access.visible(
            request.user, Action.READ, model.all_objects.all(), self.resource
        ).filter(deleted_at__isnull=False)
        instance = self.get_object_from(queryset)
        with transaction.atomic():
            instance.restore()
        return Response(self.get_serializer(instance).data, status=status.HTTP_200_OK)

    def get_object_from(self, queryset):
        obj = get_object_or_404(queryset, pk=self.kwargs[self.lookup_field])
        self.check_object_permissions(self.request, obj)
        return obj


class TenantReadOnlyViewSet(HistoryMixin, OrganizationContextMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [HasResourcePermission]

    def get_queryset(self):
        queryset = self.base_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return access.visible(self.request.user, Action.READ, queryset, self.resource)


__all__ = [
    "ORGANIZATION_PARAMETER",
    "OrganizationContextMixin",
    "TenantModelViewSet",
    "TenantReadOnlyViewSet",
]
