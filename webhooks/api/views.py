"""`/api/v1/webhook-endpoints/` (the organization admins' endpoints, CRUD) and
`/api/v1/webhook-deliveries/` (their delivery log, read-only). Thin: the write serializer
reads the input, `webhooks.services` checks and writes. Without the `webhooks`
permission a member gets 403; another organization's rows are 404."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from smartweb.api.filters import FilterSet
from smartweb.api.viewsets import TenantModelViewSet, TenantReadOnlyViewSet
from webhooks import services
from webhooks.api import serializers as s
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, DeliveryAttempt, Endpoint


class EndpointViewSet(TenantModelViewSet):
    queryset = Endpoint.objects
    serializer_class = s.EndpointSerializer
    filterset_fields = ["is_active"]
    ordering_fields = ["url", "created_at"]
    ordering = ["url", "created_at"]

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return s.EndpointWriteSerializer
        return self.serializer_class

    def _answer(self, endpoint, code=status.HTTP_200_OK, serializer=None) -> Response:
        output = (serializer or self.serializer_class)(
            endpoint, context=self.get_serializer_context()
        )
        return Response(output.data, status=code)

    @extend_schema(responses={201: s.CreatedEndpointSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(
            acting_user=request.user, **serializer.validated_data
        )
        endpoint.secret = secret
        return self._answer(endpoint, status.HTTP_201_CREATED, s.CreatedEndpointSerializer)

    @extend_schema(responses=s.EndpointSerializer)
    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = self.get_serializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(
            endpoint=instance, acting_user=request.user, **serializer.validated_data
        )
        return self._answer(endpoint)

    @extend_schema(responses=s.EndpointSerializer)
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.endpoint_delete(endpoint=instance, acting_user=self.request.user)


class DeliveryFilter(FilterSet):
    endpoint = django_filters.UUIDFilter(field_name="endpoint_id", help_text="An endpoint's id.")
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event_type = django_filters.ChoiceFilter(
        field_name="event__event_type", choices=EventType.choices
    )

    class Meta:
        model = Delivery
        fields = []


class DeliveryViewSet(TenantReadOnlyViewSet):
    queryset = Delivery.objects
    serializer_class = s.DeliverySerializer
    filterset_class = DeliveryFilter
    ordering_fields = ["created_at", "delivered_at"]
    ordering = ["-created_at"]

    def base_queryset(self):
        return Delivery.objects.select_related("event").prefetch_related(
            Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number"))
        )
