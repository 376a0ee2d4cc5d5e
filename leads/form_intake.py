"""A public submission of a lead-capture form, from the request to the answer; shared by
the API endpoint (leads.api.lead_forms) and the form page (leads.form_pages).

No user signs in. In order, each step answering before the next one runs:
1. a body over `LEAD_FORM_MAX_BODY_BYTES`: 413;
2. the client (`smartweb.origin.client_network`: an IPv6 client by its /64) over
   `LEAD_FORM_ADDRESS_LIMIT` submissions per window, whatever the forms: 429 with
   Retry-After (an address guessing keys is limited too);
3. a key with no active form (unknown, inactive, deleted: one answer): 404;
4. in the form's organization, with no user: an `Origin` the form does not allow: 403;
   the form over `LEAD_FORM_KEY_LIMIT` submissions per window: 429;
5. the honeypot field filled: the success answer, nothing stored;
6. bad input: 400 with each field's error, nothing stored; otherwise
   `lead_forms.form_submit` and the success answer (also for a suppressed address).

The input is read as the API's schema states it (a boolean is `true` or `false`, text is
a string); the page turns a browser's form post into those types first (leads.form_pages).

Refusals are answers, not exceptions: the request's transaction commits the rate
counters, and a refused submission's own writes were rolled back in its savepoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from rest_framework import serializers

from accounts.models import Organization
from leads import lead_forms
from leads.models import Company, Lead, LeadForm
from smartweb import rate_limit
from smartweb.api.serializers import BooleanField, TextField
from smartweb.origin import client_ip, client_network
from smartweb.tenancy.context import tenant_context

# Hidden from people by the page's styles; a robot filling every field fills it too.
HONEYPOT_FIELD = "homepage"


def _text(model, name: str, **kwargs) -> TextField:
    limit = model._meta.get_field(name).max_length
    return TextField(required=False, allow_blank=True, default="", max_length=limit, **kwargs)


class SubmissionSerializer(serializers.Serializer):
    """The fields of a submission; which are required is the form's setting."""

    contact_name = _text(Lead, "contact_name")
    contact_email = _text(Lead, "contact_email")
    contact_phone = _text(Lead, "contact_phone")
    company_name = _text(Company, "name")
    website = _text(Company, "website")
    city = _text(Company, "city")
    message = TextField(required=False, allow_blank=True, default="", max_length=5000)
    consent = BooleanField(required=False, default=False, help_text="The consent box, ticked.")
    page_url = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="The page the form was filled in on (kept as the consent's evidence).",
    )
    homepage = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="The honeypot: leave it empty (people never see it).",
    )


@dataclass
class Answer:
    """What to answer: a status, and on refusal a code, a message and field errors."""

    status: int
    code: str = ""
    message: str = ""
    details: dict = field(default_factory=dict)
    retry_after: int | None = None
    form: LeadForm | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 201


def _body_length(request) -> int:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.LEAD_FORM_MAX_BODY_BYTES:
        return declared
    return len(request.body)


def _limit(scope: str, value: str, limit: int) -> Answer | None:
    try:
        rate_limit.hit(scope, value, limit=limit, window=settings.LEAD_FORM_RATE_WINDOW_SECONDS)
    except rate_limit.RateLimited as exc:
        return Answer(
            429,
            "rate_limited",
            f"Too many submissions; try again in {exc.retry_after} seconds.",
            retry_after=exc.retry_after,
        )
    return None


def origin_allowed(form: LeadForm, request) -> bool:
    """No `Origin` (not a browser's cross-site request), the form page's own site, or
    one the form lists; a form that lists none takes any."""
    origin = request.META.get("HTTP_ORIGIN")
    if not origin or not form.allowed_origins:
        return True
    own = f"{request.scheme}://{request.get_host()}"
    return origin in (own, *form.allowed_origins)


def find_organization(public_key: str) -> Organization | None:
    organization_id = lead_forms.form_organization_id(public_key)
    if organization_id is None:
        return None
    return Organization.objects.filter(pk=organization_id, is_active=True).first()


def _submission(data: Mapping[str, Any], request) -> lead_forms.Submission:
    serializer = SubmissionSerializer(data=data)
    if not serializer.is_valid():
        raise ValidationError(serializer.errors)
    values = {
        name: value.strip() if isinstance(value, str) else value
        for name, value in serializer.validated_data.items()
        if name != HONEYPOT_FIELD
    }
    return lead_forms.Submission(**values, ip_address=client_ip(request))


def receive(request, public_key: str, read_data: Callable[[], Mapping[str, Any]]) -> Answer:
    """Run one submission (see the module's docstring); `read_data` parses the body and
    may raise ValidationError (a malformed body)."""
    if _body_length(request) > settings.LEAD_FORM_MAX_BODY_BYTES:
        limit = settings.LEAD_FORM_MAX_BODY_BYTES
        return Answer(413, "too_large", f"The submission is larger than {limit} bytes.")
    address = client_network(request) or "unknown"
    refused = _limit("lead-form-address", address, settings.LEAD_FORM_ADDRESS_LIMIT)
    if refused:
        return refused
    organization = find_organization(public_key)
    if organization is None:
        return Answer(404, "not_found", "No such form.")
    with tenant_context(organization):
        form = lead_forms.active_form(public_key)
        if form is None:  # deactivated since the lookup
            return Answer(404, "not_found", "No such form.")
        if not origin_allowed(form, request):
            return Answer(403, "origin_not_allowed", "This site may not submit this form.")
        refused = _limit("lead-form", str(form.pk), settings.LEAD_FORM_KEY_LIMIT)
        if refused:
            refused.form = form
            return refused
        try:
            data = read_data()
            if not data.get(HONEYPOT_FIELD):
                lead_forms.form_submit(form=form, submission=_submission(data, request))
        except ValidationError as exc:
            details = exc.message_dict if hasattr(exc, "error_dict") else {}
            if not details:
                details = {"non_field_errors": exc.messages}
            return Answer(400, "invalid", "Invalid input.", details=details, form=form)
    return Answer(201, message=form.success_message, form=form)
