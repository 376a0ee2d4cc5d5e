"""`POST /api/v1/webhooks/ai-calls/`: the AI call provider reports a call's result.

No user signs in here. The provider names the organization (`X-Organization`: id or
slug), the time it signed (`X-Timestamp`: Unix seconds) and the signature
(`X-Signature`: hex HMAC-SHA256 with the organization's webhook secret over
`timestamp + "." + raw body`, optionally prefixed "sha256="). The view enters that
organization's context, then verifies; a missing, bad or stale signature (more than five
minutes off) is 401 and nothing is written. Deliveries are idempotent on the provider's
call id: a repeat (or a concurrent duplicate) answers 200 "duplicate" and writes nothing.
A call the organization does not have (unknown, or another organization's) is 404.

Body: {"call_id", "reference" (optional: our call id, which the call was placed with as
its idempotency key; it finds a call whose placing job died before it stored the
provider's call id), "status": queued|in_progress|completed|failed|no_answer,
"started_at", "duration_seconds", "recording_url", "transcript", "summary",
"sentiment": positive|neutral|negative, "outcome": interested|callback|meeting_booked|
not_interested|do_not_call|voicemail|wrong_number|no_answer|other, "callback_at",
"meeting_at", "cost", "analysis": {"intent", "next_steps": [...], ...}, "failure_reason"}
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import services
from crm.choices import AICallStatus, CallOutcome, Sentiment
from crm.models import AICall
from leads.services import clean_ai_analysis
from smartweb.api.parsers import parse_json
from smartweb.api.schema import ERROR
from smartweb.api.signed import SIGNED_HEADERS, signed_delivery


class CallReportSerializer(serializers.Serializer):
    call_id = serializers.CharField(max_length=120)
    reference = serializers.UUIDField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=AICallStatus.choices)
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    duration_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=24 * 3600
    )
    # Shown as a link on the call's admin page: a web address, not ftp: or the like.
    recording_url = serializers.URLField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
    )
    transcript = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200_000, trim_whitespace=False
    )
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    sentiment = serializers.ChoiceField(
        choices=Sentiment.choices, required=False, allow_blank=True, default=""
    )
    outcome = serializers.ChoiceField(
        choices=CallOutcome.choices, required=False, allow_blank=True, default=""
    )
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal("0"), required=False, allow_null=True
    )
    callback_at = serializers.DateTimeField(required=False, allow_null=True)
    meeting_at = serializers.DateTimeField(required=False, allow_null=True)
    analysis = serializers.DictField(required=False, default=dict)
    failure_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=300
    )

    def validate_analysis(self, value):
        try:
            return clean_ai_analysis(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def report(self) -> services.CallReport:
        data = dict(self.validated_data)
        return services.CallReport(provider_call_id=data.pop("call_id"), **data)


class AICallWebhookView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to a delivery that fails verification.
        return 'HMAC-SHA256 realm="ai-call-webhook"'

    @extend_schema(
        request=CallReportSerializer,
        responses={200: OpenApiTypes.OBJECT, 404: ERROR},
        parameters=SIGNED_HEADERS,
        auth=[],
    )
    def post(self, request):
        with signed_delivery(request, verify=services.webhook_verify):
            payload = parse_json(request.body)
            if not isinstance(payload, dict):
                raise exceptions.ParseError("The body is a JSON object.")
            serializer = CallReportSerializer(data=payload)
            serializer.is_valid(raise_exception=True)
            try:
                call, written = services.ai_call_record_result(report=serializer.report())
            except AICall.DoesNotExist as exc:
                raise exceptions.NotFound("No such call.") from exc
        return Response(
            {"ai_call": str(call.pk), "status": call.status, "recorded": written},
            status=200,
        )
