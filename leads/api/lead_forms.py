"""Lead-capture forms in the API.

- `/api/v1/lead-forms/`: the organization's forms, managed by whoever the `lead_forms`
  resource allows (the admin roles); another organization's forms are 404.
- `POST /api/v1/forms/{public_key}/submit/`: the public endpoint, no authentication
  (leads.form_intake gives the order of its checks and answers). JSON (a browser's
  form posts to the page, leads.form_pages); the answer is the same whether the person
  was new, known or suppressed, and when the honeypot was filled. CORS: a browser on
  one of the form's allowed origins (any, when it lists none) may post and read the
  answer.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.choices import ConsentPurpose
from leads import form_intake, lead_forms
from leads.api.views import ServiceModelViewSet
from leads.choices import FormField
from leads.models import LeadForm
from smartweb.api.errors import error_body
from smartweb.api.parsers import JSONParser
from smartweb.api.schema import ERROR
from smartweb.api.serializers import ModelSerializer
from smartweb.tenancy.context import tenant_context

WRITABLE = sorted(lead_forms.FORM_SETTINGS)
# The sites one form may be used on at most.
MAX_ORIGINS = 50


class LeadFormSerializer(ModelSerializer):
    submit_url = serializers.SerializerMethodField(help_text="Where the form posts (JSON API).")
    page_url = serializers.SerializerMethodField(help_text="The embeddable HTML form.")

    class Meta:
        model = LeadForm
        fields = [
            "id",
            "public_key",
            *WRITABLE,
            "submit_url",
            "page_url",
            "created_at",
            "updated_at",
            "deleted_at",
        ]
        read_only_fields = fields

    def get_submit_url(self, form) -> str:
        return reverse("lead-form-submit", args=[form.public_key])

    def get_page_url(self, form) -> str:
        return reverse("lead-form-page", args=[form.public_key])


class LeadFormWriteSerializer(ModelSerializer):
    class Meta:
        model = LeadForm
        fields = WRITABLE
        # A longer URL could pass the schema's `uri` form with a host name over the 253
        # characters Django's URL validator allows.
        extra_kwargs = {
            "name": {"required": True},
            "redirect_url": {"max_length": 255},
            # Lists bounded as the schema states them: each choice once, and the sites.
            "allowed_origins": {"max_length": MAX_ORIGINS},
            "consent_purposes": {"max_length": len(ConsentPurpose.choices)},
            "required_fields": {"max_length": len(FormField.choices)},
        }


class LeadFormViewSet(ServiceModelViewSet):
    queryset = LeadForm.objects.all()
    serializer_class = LeadFormSerializer
    input_serializers = {
        "create": LeadFormWriteSerializer,
        "update": LeadFormWriteSerializer,
        "partial_update": LeadFormWriteSerializer,
    }
    ordering_fields = ["name", "created_at"]
    ordering = ["name", "id"]

    def create(self, request, *args, **kwargs):
        form = lead_forms.lead_form_create(acting_user=request.user, data=self.validated())
        return self.respond(form, status.HTTP_201_CREATED)

    def perform_service_update(self, instance, data):
        return lead_forms.lead_form_update(form=instance, acting_user=self.request.user, data=data)

    def perform_destroy(self, instance):
        lead_forms.lead_form_delete(form=instance, acting_user=self.request.user)


class SubmittedSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="The form's thank-you message.")
    redirect_url = serializers.CharField(help_text="Where to send the visitor ('' for none).")


def cors_headers(request, form: LeadForm | None) -> dict[str, str]:
    origin = request.META.get("HTTP_ORIGIN")
    if form is None or not origin or not form_intake.origin_allowed(form, request):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


class LeadFormSubmitView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    # JSON like the rest of the API; a browser's form posts to the page (leads.form_pages).
    parser_classes = [JSONParser]

    @extend_schema(
        request=form_intake.SubmissionSerializer,
        responses={
            201: SubmittedSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            413: ERROR,
            429: ERROR,
        },
        auth=[],
        description=(
            "Submit a lead-capture form. Which fields are required is the form's setting;"
            f" an email or a phone is always needed. Fields: {', '.join(FormField.values)}."
        ),
    )
    def post(self, request, public_key: str):
        answer = form_intake.receive(request, public_key, lambda: _payload(request))
        headers = cors_headers(request, answer.form)
        if answer.accepted:
            body = {"message": answer.message, "redirect_url": answer.form.redirect_url}
            return Response(body, status=answer.status, headers=headers)
        if answer.retry_after is not None:
            headers["Retry-After"] = str(answer.retry_after)
        body = error_body(answer.code, answer.message, answer.details)
        return Response(body, status=answer.status, headers=headers)

    @extend_schema(exclude=True)
    def options(self, request, public_key: str):
        """A browser's preflight: allowed when the form takes posts from its origin."""
        organization = form_intake.find_organization(public_key)
        form = None
        if organization is not None:
            with tenant_context(organization):
                form = lead_forms.active_form(public_key)
        headers = cors_headers(request, form)
        if headers:
            headers.update(
                {
                    "Access-Control-Allow-Methods": "POST",
                    "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Max-Age": "600",
                }
            )
        return Response(status=status.HTTP_204_NO_CONTENT, headers=headers)


def _payload(request) -> dict:
    try:
        data = request.data
    except exceptions.ValidationError as exc:  # nesting or NUL: the parser names where
        raise ValidationError(exc.detail) from exc
    except (exceptions.ParseError, exceptions.UnsupportedMediaType) as exc:
        raise ValidationError({"non_field_errors": [str(exc.detail)]}) from exc
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The body is a JSON object."]})
    return data
