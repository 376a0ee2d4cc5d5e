"""A record's shares in the API, on the record's own routes:

    GET    /api/v1/<records>/{id}/shares/            who it is shared with
    POST   /api/v1/<records>/{id}/shares/            share it (or change a share's level)
    DELETE /api/v1/<records>/{id}/shares/{user_id}/  take a share back

Mix `RecordSharesMixin` into the record's viewset (leads, opportunities) and add
`SHARE_ACTION_PERMISSIONS` to its `action_permissions`. The record is looked up as every
other route of the viewset looks it up (another organization's, or one outside the
user's reach, is a 404); the service decides who may share (403).
"""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api.serializers import UserSummarySerializer
from sharing import selectors, services
from sharing.choices import ShareAccess
from smartweb.api.serializers import Serializer
from smartweb.rbac import Action


class ShareSerializer(Serializer):
    """A share; `context["names"]`: its colleague's name by their id
    (`selectors.colleague_names`)."""

    user = UserSummarySerializer(read_only=True)
    name = serializers.SerializerMethodField(
        help_text="The colleague as the back office names them: their full name (their "
        "email when they have none), with their email beside a name two members of the "
        "organization share."
    )
    access = serializers.ChoiceField(choices=ShareAccess.choices, read_only=True)

    def get_name(self, share) -> str:
        return self.context["names"][share.user.pk]


def shares_answer(shares: list) -> list[dict]:
    """The answer of `shares`, each colleague named (`ShareSerializer`)."""
    names = selectors.colleague_names(share.user for share in shares)
    return ShareSerializer(shares, many=True, context={"names": names}).data


class ShareInputSerializer(Serializer):
    user = serializers.UUIDField(help_text="The id of an active member of the organization.")
    access = serializers.ChoiceField(
        choices=ShareAccess.choices,
        default=ShareAccess.READ,
        help_text="`read`: they may view the record; `update`: view and edit it.",
    )


# The view lets through whoever reads the record; the service decides who may share it
# (403): the right to edit records of its resource, and the role's own right, on this
# record, to what is shared (a user who reads all leads but edits their own shares any
# lead for viewing: an object check of the update right here would refuse them).
SHARE_ACTION_PERMISSIONS = {"share": Action.READ, "unshare": Action.READ}

NOT_SHARED = "This record is not shared with that user."

USER_ID_PARAMETER = OpenApiParameter(
    "user_id",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="The id of the user holding the share.",
)


class RecordSharesMixin:
    def changes_own_row(self, method: str) -> bool:
        # A share changes who reaches the record, not the record: no version to match.
        if self.action in SHARE_ACTION_PERMISSIONS:
            return False
        return super().changes_own_row(method)

    @extend_schema(responses=ShareSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def shares(self, request, *args, **kwargs):
        """The colleagues this record is shared with (in the order of their emails), each
        with their name, and what each may do."""
        return Response(shares_answer(selectors.shares_of(self.get_object())))

    @extend_schema(
        request=ShareInputSerializer,
        responses={201: ShareSerializer, 200: ShareSerializer},
    )
    @shares.mapping.post
    def share(self, request, *args, **kwargs):
        """Share the record with a colleague (201), or change the level of their share
        (200; the same level again changes nothing). You may share only as far as your
        role lets you view and edit the record yourself."""
        record = self.get_object()
        # Who may not share at all learns that (403) before anything about their body.
        services.refuse_unless_may_share(request.user, record)
        data = ShareInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        share, previous = services.record_share(
            record=record,
            user=data.validated_data["user"],
            access_level=data.validated_data["access"],
            acting_user=request.user,
        )
        (answer,) = shares_answer([share])
        return Response(
            answer, status=status.HTTP_201_CREATED if previous is None else status.HTTP_200_OK
        )

    @extend_schema(request=None, responses={204: None}, parameters=[USER_ID_PARAMETER])
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"shares/(?P<user_id>[0-9a-fA-F-]{36})",
        filter_backends=[],
    )
    def unshare(self, request, *args, user_id, **kwargs):
        """Take back the share the user holds on this record (404 when they hold none)."""
        record = self.get_object()
        try:
            user = uuid.UUID(user_id)
        except ValueError:  # the path takes any 36 hex digits and dashes: no one's id
            raise NotFound(NOT_SHARED) from None
        if not services.record_unshare(record=record, user=user, acting_user=request.user):
            raise NotFound(NOT_SHARED)
        return Response(status=status.HTTP_204_NO_CONTENT)
