"""`/api/v1/saved-views/`: a user's views and those shared with them. Thin: the write
serializer reads the input, `savedviews.services` checks and writes, the output
serializer answers. Another organization's views and others' private ones are 404."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from savedviews import services
from savedviews.api import serializers as s
from savedviews.api.filters import SavedViewFilter
from savedviews.models import SavedView
from smartweb.api.viewsets import TenantModelViewSet


class SavedViewViewSet(TenantModelViewSet):
    queryset = SavedView.objects
    serializer_class = s.SavedViewSerializer
    filterset_class = SavedViewFilter
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name", "created_at"]

    def base_queryset(self):
        return SavedView.objects.select_related("owner")

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return s.SavedViewWriteSerializer
        return self.serializer_class

    def _answer(self, view, code=status.HTTP_200_OK) -> Response:
        output = self.serializer_class(view, context=self.get_serializer_context())
        return Response(output.data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        view = services.saved_view_create(acting_user=request.user, **serializer.validated_data)
        return self._answer(view, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = self.get_serializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        view = services.saved_view_update(
            view=instance, acting_user=request.user, **serializer.validated_data
        )
        return self._answer(view)

    def perform_destroy(self, instance):
        services.saved_view_delete(view=instance, acting_user=self.request.user)
