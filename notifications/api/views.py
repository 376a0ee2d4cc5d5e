"""`/api/v1/notifications/`: the signed-in member's own notifications in the current
organization (an organization admin's too: nobody reads another person's), marked read
one by one or all at once, the unread count, and the daily digest setting. No role
permission is needed beyond an active membership: they are one's own (ADR 0032)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from notifications import selectors, services
from notifications.api import serializers as s
from notifications.choices import NotificationKind
from notifications.models import Notification
from smartweb.api.filters import FilterSet
from smartweb.api.viewsets import OrganizationContextMixin
from smartweb.tenancy.context import current_membership


class ActiveMember(permissions.BasePermission):
    """Signed in, with an active membership of the current organization (403 otherwise:
    a platform admin visiting an organization has no inbox there)."""

    def has_permission(self, request, view):
        membership = current_membership()
        return bool(
            request.user
            and request.user.is_authenticated
            and membership is not None
            and membership.is_active
            and membership.user_id == request.user.pk
        )


class NotificationFilter(FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", help_text="Only the unread (true) or read."
    )
    kind = django_filters.ChoiceFilter(choices=NotificationKind.choices)

    class Meta:
        model = Notification
        fields = []


class NotificationViewSet(
    OrganizationContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.NotificationSerializer
    permission_classes = [ActiveMember]
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return services.mine(self.request.user).order_by("-created_at")

    @extend_schema(request=None, responses=s.NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = services.notification_mark_read(
            notification=self.get_object(), user=request.user
        )
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses=s.MarkedSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        marked = services.notifications_mark_all_read(user=request.user)
        return Response(s.MarkedSerializer({"marked": marked}).data)

    @extend_schema(responses=s.UnreadCountSerializer)
    @action(detail=False, methods=["get"], url_path="unread-count", filter_backends=[])
    def unread_count(self, request):
        count = selectors.unread_count(request.user)
        return Response(s.UnreadCountSerializer({"unread": count}).data)

    @extend_schema(methods=["GET"], responses=s.NotificationSettingsSerializer)
    @extend_schema(
        methods=["PATCH"],
        request=s.NotificationSettingsUpdateSerializer,
        responses=s.NotificationSettingsSerializer,
    )
    # serializer_class: what the action answers with, which the browsable API's forms show
    # (the notification's own failed on the settings: a server error).
    @action(
        detail=False,
        methods=["get", "patch"],
        filter_backends=[],
        serializer_class=s.NotificationSettingsSerializer,
    )
    def preferences(self, request):
        """Your daily digest setting in this organization."""
        current = services.settings_of(request.user)
        if request.method == "PATCH":
            # A PATCH changes what it names: an empty one changes nothing. With the view
            # in its context, the fields the answer has are known: what a GET answered
            # is taken back (`last_digest_at` read-only, so unchanged).
            update = s.NotificationSettingsUpdateSerializer(
                data=request.data, partial=True, context=self.get_serializer_context()
            )
            update.is_valid(raise_exception=True)
            if update.validated_data:
                current = services.settings_update(user=request.user, **update.validated_data)
        return Response(s.NotificationSettingsSerializer(current).data)
