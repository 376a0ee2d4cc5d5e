"""The API of single sign-on: a token for a session signed in through the organization's
identity provider, and the user's linked identities (list, unlink)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django_otp import DEVICE_ID_SESSION_KEY
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as s
from accounts.api.views import token_issued
from accounts.models import OAuthAccount
from accounts.tenancy import choose_membership
from smartweb.api.schema import ERROR
from smartweb.api.serializers import Serializer
from smartweb.api.viewsets import DeclaredParametersOnly
from smartweb.tenancy import context
from sso import identities, session


class SSOTokenSerializer(Serializer):
    name = serializers.CharField(max_length=120)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=365, default=90)


class IdentitySerializer(serializers.ModelSerializer):
    class Meta:
        model = OAuthAccount
        fields = ["id", "provider", "created_at", "updated_at"]


class SSOTokenView(DeclaredParametersOnly, APIView):
    """Create an API token from a back-office session signed in through the
    organization's identity provider (the way to a token where passwords are refused)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=SSOTokenSerializer, responses={201: s.TokenIssuedSerializer, 403: ERROR})
    def post(self, request):
        mark = session.signed_in_through(request)
        if mark is None:
            body = {
                "error": {
                    "code": "sso_session_required",
                    "message": "Sign in through your organization's identity provider first.",
                    "details": {},
                }
            }
            return Response(body, status=status.HTTP_403_FORBIDDEN)
        serializer = SSOTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # No organization context yet: the user's own memberships, to check the one the
        # session signed in to is still active.
        context.activate(organization_id=None, user=request.user)
        membership = choose_membership(request.user, mark["organization"])
        context.activate(
            organization_id=membership.organization_id, user=request.user, membership=membership
        )
        # The session's provider is this organization's: it vouches for the token, and
        # the session's second factor, if it gave one, for the token's.
        return token_issued(
            request,
            request.user,
            membership,
            data,
            sso_authorized=True,
            second_factor=DEVICE_ID_SESSION_KEY in request.session,
        )


class IdentityListView(DeclaredParametersOnly, APIView):
    """Your identities linked for single sign-on."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: IdentitySerializer(many=True)})
    def get(self, request):
        rows = OAuthAccount.objects.filter(user=request.user).order_by("created_at")
        return Response(IdentitySerializer(rows, many=True).data)


class IdentityUnlinkView(DeclaredParametersOnly, APIView):
    """Unlink one of your identities; signing in through that provider links it again
    by verified email."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None, 404: ERROR})
    def delete(self, request, id):  # noqa: A002  (the API's name of every path's object id)
        link = get_object_or_404(OAuthAccount.objects.filter(user=request.user), pk=id)
        identities.unlink(link=link, acting_user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
