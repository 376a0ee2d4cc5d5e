"""The email API:

- `/api/v1/email-templates/`: the organization's templates (its admins write them);
- `/api/v1/email-messages/`: the log of sent and received mail, in the leads' scope;
- `POST /api/v1/leads/{id}/send-email/`: write to a lead, from a template or not;
- `POST /api/v1/email-inbound-secret/`: a new secret for the inbound webhook;
- `POST /api/v1/webhooks/inbound-email/`: the email provider's replies and bounces,
  signed like the AI call webhook (smartweb.api.signed).
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.models import Lead
from mailing import inbound, services
from mailing.api import serializers as s
from mailing.choices import MessageDirection, MessageKind, MessageStatus
from mailing.models import EmailMessage, EmailTemplate, InboundSecret
from smartweb import access
from smartweb.api.filters import FilterSet
from smartweb.api.parsers import parse_json
from smartweb.api.permissions import HasResourcePermission
from smartweb.api.schema import ERROR
from smartweb.api.signed import SIGNED_HEADERS, signed_delivery
from smartweb.api.viewsets import (
    OrganizationContextMixin,
    TenantModelViewSet,
    TenantReadOnlyViewSet,
)
from smartweb.rbac import Action, Resource

INBOUND_URL = "/api/v1/webhooks/inbound-email/"


class EmailTemplateViewSet(TenantModelViewSet):
    queryset = EmailTemplate.objects
    serializer_class = s.EmailTemplateSerializer
    # Templates are the organization's settings: writing one is updating it.
    action_permissions = {
        "create": Action.UPDATE,
        "destroy": Action.UPDATE,
        "restore": Action.UPDATE,
    }
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    ordering = ["name", "created_at"]

    def _answer(self, template, code=status.HTTP_200_OK) -> Response:
        output = self.serializer_class(template, context=self.get_serializer_context())
        return Response(output.data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = services.template_create(acting_user=request.user, **serializer.validated_data)
        return self._answer(template, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(
            instance, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        template = services.template_update(
            template=instance, acting_user=request.user, **serializer.validated_data
        )
        return self._answer(template)

    def perform_destroy(self, instance):
        services.template_delete(template=instance, acting_user=self.request.user)


class EmailMessageFilter(FilterSet):
    lead = django_filters.UUIDFilter(field_name="lead_id", help_text="A lead's id.")
    direction = django_filters.ChoiceFilter(choices=MessageDirection.choices)
    kind = django_filters.ChoiceFilter(choices=MessageKind.choices)
    status = django_filters.ChoiceFilter(choices=MessageStatus.choices)

    class Meta:
        model = EmailMessage
        fields = []


class EmailMessageViewSet(TenantReadOnlyViewSet):
    queryset = EmailMessage.objects
    serializer_class = s.EmailMessageSerializer
    filterset_class = EmailMessageFilter
    ordering_fields = ["created_at", "sent_at"]
    ordering = ["-created_at", "id"]


class LeadSendEmailView(OrganizationContextMixin, generics.GenericAPIView):
    """Email the lead now: from a template, or with a subject and body of one's own (the
    same fields apply). Refused (400, and nothing written) when the lead has no valid
    address, is marked do-not-contact, has not consented, or the address is suppressed."""

    queryset = Lead.objects
    resource = Resource.INTERACTIONS
    permission_classes = [HasResourcePermission]
    serializer_class = s.SendEmailSerializer

    @extend_schema(
        request=s.SendEmailSerializer,
        responses={201: s.EmailMessageSerializer, 404: ERROR},
        operation_id="leads_send_email_create",
    )
    def post(self, request, pk):
        lead = (
            access.visible(request.user, Action.READ, Lead.objects.filter(pk=pk), Resource.LEADS)
            .select_related("company")
            .first()
        )
        if lead is None:
            raise exceptions.NotFound("No such lead.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.email_send_to_lead(
            lead=lead, acting_user=request.user, **serializer.validated_data
        )
        output = s.EmailMessageSerializer(message, context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)


class InboundSecretView(OrganizationContextMixin, APIView):
    """A new signing secret for the email provider's inbound deliveries, shown once."""

    queryset = InboundSecret.objects
    resource = Resource.ORGANIZATIONS
    permission_classes = [HasResourcePermission]
    action_permissions = {"rotate": Action.UPDATE}
    action = "rotate"

    @extend_schema(request=None, responses={200: s.SecretSerializer})
    def post(self, request):
        secret = services.inbound_secret_rotate(acting_user=request.user)
        return Response({"secret": secret, "webhook_url": INBOUND_URL})


class InboundEmailWebhookView(APIView):
    """The email provider posts each reply and bounce here, signed with the organization's
    inbound secret (`X-Organization`, `X-Timestamp`, `X-Signature` as for the AI call
    webhook: HMAC-SHA256 over `timestamp + "." + body`). A bad or stale signature is 401
    and nothing is written; a repeat of a delivery answers "duplicate"."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to a delivery that fails verification.
        return 'HMAC-SHA256 realm="inbound-email"'

    @extend_schema(
        request=s.InboundSerializer,
        responses={200: s.InboundResultSerializer},
        parameters=SIGNED_HEADERS,
        auth=[],
    )
    def post(self, request):
        with signed_delivery(request, verify=services.inbound_verify):
            payload = parse_json(request.body)
            if not isinstance(payload, dict):
                raise exceptions.ParseError("The body is a JSON object.")
            serializer = s.InboundSerializer(data=payload)
            serializer.is_valid(raise_exception=True)
            message, outcome = inbound.inbound_record(report=serializer.report())
        return Response(
            {
                "outcome": outcome,
                "message": message.pk if message else None,
                "lead": message.lead_id if message else None,
            }
        )
