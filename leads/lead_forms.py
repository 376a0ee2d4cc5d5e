"""Lead-capture forms: their configuration, which the organization's admins manage, and
a submission, which the public endpoint and the form page run (docs/decisions/0029).

A submission runs in the form's organization with no user, in one transaction:
- required fields and every value are checked first; bad input writes nothing;
- a suppressed email or phone is accepted and stored nowhere (`Outcome.SUPPRESSED`);
- a known person (same normalized email, phone or website as a lead) updates that lead:
  blanks are filled, nothing filled is overwritten (anyone may post a public form), and
  the submission is logged on its timeline; the lead keeps its owner;
- anyone else becomes a new lead and company with source `web_form`, assigned to the next
  sales rep in turn (the round robin's pointer is read and moved under the form's lock);
- a ticked consent box records the form's purposes with its text as evidence, and the
  lead is re-scored.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts.models import Membership, User
from compliance import services as compliance_services
from compliance.choices import ConsentSource
from compliance.suppression import is_suppressed
from leads import selectors
from leads import services as lead_services
from leads.choices import Direction, FormAssignment, FormField, InteractionType, LeadSource
from leads.models import Company, Lead, LeadForm
from smartweb import access, outbound
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import current_organization_id
from smartweb.writes import locked, save_changed, values_of

FORM_SETTINGS = frozenset(
    {
        "name",
        "is_active",
        "title",
        "consent_text",
        "consent_purposes",
        "required_fields",
        "assignment",
        "success_message",
        "redirect_url",
        "allowed_origins",
    }
)
SALES_REP_ROLE = "sales_rep"
# A submission's fields as the lead and its company name them.
_LEAD_FIELDS = ("contact_name", "contact_email", "contact_phone")
_COMPANY_FIELDS = {"company_name": "name", "website": "website", "city": "city"}


class Outcome(enum.Enum):
    """What a submission did; the public answer is the same for all three."""

    CREATED = "created"
    UPDATED = "updated"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Submission:
    """One filled-in form, its values stripped; `page_url` and `ip_address` are kept as
    the consent's evidence."""

    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    company_name: str = ""
    website: str = ""
    city: str = ""
    message: str = ""
    consent: bool = False
    page_url: str = ""
    ip_address: str | None = None


# --- configuration -------------------------------------------------------------------

# A host name as a browser writes it in an Origin header (lowercase, an IDN as punycode).
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


def _is_host(host: str) -> bool:
    """A host name or an IP address: nothing that could be more than an origin in the
    Content-Security-Policy of the form's page ("a.test; script-src *", "a.test *")."""
    if ":" in host:  # only an IPv6 address has a colon in its host
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return address.scope_id is None  # "fe80::1%any text" is no browser's origin
    return bool(_HOST_NAME.fullmatch(host))


def clean_origin(value: str) -> str:
    """`https://Example.com/` -> `https://example.com`: a scheme and a host, nothing more."""
    not_origin = ValidationError(f"{value!r} is not an origin such as https://example.com.")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as exc:  # what urlsplit cannot read: "http://[::1", a port over 65535
        raise not_origin from exc
    if parts.scheme not in ("http", "https") or not _is_host(parts.hostname or ""):
        raise not_origin
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValidationError(f"{value!r} has more than a scheme, a host and a port.")
    # An IPv6 host keeps its brackets, as a browser's Origin header writes it.
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


def _clean_form(form: LeadForm, data: Mapping[str, Any]) -> None:
    unknown = sorted(set(data) - FORM_SETTINGS)
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in unknown})
    for name, value in data.items():
        setattr(form, name, value)
    errors: dict = {}
    try:
        form.allowed_origins = sorted({clean_origin(o) for o in form.allowed_origins})
    except ValidationError as exc:
        errors["allowed_origins"] = exc.messages
    if form.redirect_url:
        # Visitors are sent there: a web page, not ftp: or anything else Django's URL
        # validator would let through.
        try:
            outbound.check_shape(form.redirect_url)
        except outbound.RefusedURL as exc:
            errors["redirect_url"] = [str(exc)]
    form.required_fields = sorted(set(form.required_fields))
    form.consent_purposes = sorted(set(form.consent_purposes))
    if FormField.CONSENT in form.required_fields and not form.consent_purposes:
        errors["consent_purposes"] = ["A required consent box needs the purposes it grants."]
    if form.consent_purposes and not form.consent_text.strip():
        # What the person agreed to is kept as the consent's evidence: it must be there.
        errors["consent_text"] = ["A consent box needs its statement: it is kept as evidence."]
    try:
        form.full_clean(exclude=["last_assigned_to", *errors], validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def lead_form_create(*, acting_user: User | None, data: Mapping[str, Any]) -> LeadForm:
    access.require(acting_user, Action.CREATE, Resource.LEAD_FORMS)
    form = LeadForm(organization_id=current_organization_id())
    _clean_form(form, data)
    form.save()
    return form


@transaction.atomic
def lead_form_update(
    *, form: LeadForm, acting_user: User | None, data: Mapping[str, Any]
) -> LeadForm:
    access.require(acting_user, Action.UPDATE, Resource.LEAD_FORMS, form)
    form = locked(form)
    before = values_of(form)
    _clean_form(form, data)
    save_changed(form, before)
    return form


@transaction.atomic
def lead_form_delete(*, form: LeadForm, acting_user: User | None) -> None:
    access.require(acting_user, Action.DELETE, Resource.LEAD_FORMS, form)
    form.delete()


def form_organization_id(public_key: str):
    """The organization of the active form with this key, or None (unknown, inactive or
    deleted alike). Asked before any organization context exists, through a SECURITY
    DEFINER function that answers this one question (leads/migrations/0019)."""
    if not public_key or len(public_key) > LeadForm._meta.get_field("public_key").max_length:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT smartweb_lead_form_organization(%s)", [public_key])
        return cursor.fetchone()[0]


def active_form(public_key: str) -> LeadForm | None:
    """The current organization's active form with this key."""
    return LeadForm.objects.filter(public_key=public_key, is_active=True).first()


# --- submission ----------------------------------------------------------------------


def _check_required(form: LeadForm, submission: Submission) -> None:
    errors = {
        name: ["This field is required."]
        for name in form.required_fields
        if not getattr(submission, name)
    }
    if not (submission.contact_email or submission.contact_phone):
        errors.setdefault("contact_email", []).append("Give an email or a phone number.")
    if errors:
        raise ValidationError(errors)


def _given(submission: Submission) -> tuple[dict, dict]:
    """(lead data, company data) of the fields the visitor filled in."""
    lead_data = {name: getattr(submission, name) for name in _LEAD_FIELDS}
    company_data = {
        field: getattr(submission, name)
        for name, field in _COMPANY_FIELDS.items()
        if getattr(submission, name)
    }
    company_data["name"] = company_data.get("name") or (
        submission.contact_name or submission.contact_email or submission.contact_phone
    )
    return {k: v for k, v in lead_data.items() if v}, company_data


def _candidate(lead_data: dict, company_data: dict, settings: Mapping) -> Lead:
    """The submission as an unsaved lead and company, validated (errors carry the form's
    field names) and normalized: its de-duplication keys."""
    company = Company(organization_id=current_organization_id())
    lead = Lead(organization_id=current_organization_id(), company=company)
    errors: dict = {}
    try:
        lead_services.clean_company_fields(company, company_data, settings)
    except ValidationError as exc:
        form_names = {field: name for name, field in _COMPANY_FIELDS.items()}
        errors.update({form_names.get(k, k): v for k, v in exc.message_dict.items()})
    try:
        lead_services.clean_lead_fields(lead, lead_data, settings)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return lead


def next_rep(form: LeadForm) -> User | None:
    """The sales rep after the one the form assigned last (in the order they joined),
    the pointer moved in the same transaction under the form's row lock: concurrent
    submissions take turns, none skipped or doubled."""
    last = (
        LeadForm.objects.select_for_update()
        .filter(pk=form.pk)
        .values_list("last_assigned_to_id", flat=True)
        .get()
    )
    reps = [
        membership.user
        for membership in Membership.objects.filter(
            role__slug=SALES_REP_ROLE, is_active=True, user__is_active=True
        )
        .select_related("user")
        .order_by("joined_at", "pk")
    ]
    if not reps:
        return None
    ids = [rep.pk for rep in reps]
    rep = reps[(ids.index(last) + 1) % len(reps)] if last in ids else reps[0]
    # A pointer, not a change of the form's settings: no history row (update()).
    LeadForm.objects.filter(pk=form.pk).update(last_assigned_to=rep)
    return rep


def _blanks_of(instance, data: Mapping[str, Any]) -> dict:
    """The values of `data` for the fields `instance` has empty."""
    return {name: value for name, value in data.items() if not getattr(instance, name)}


def _update_known(lead: Lead, lead_data: dict, company_data: dict) -> Lead:
    company_data = {k: v for k, v in company_data.items() if k != "name"}
    return lead_services.lead_update(
        lead=lead,
        acting_user=None,
        data=_blanks_of(lead, lead_data),
        company_data=_blanks_of(lead.company, company_data),
    )


def _create_new(form: LeadForm, lead_data: dict, company_data: dict) -> Lead:
    data = {**lead_data, "source": LeadSource.WEB_FORM}
    if form.assignment == FormAssignment.ROUND_ROBIN:
        data["assigned_to"] = next_rep(form)
    # The duplicate check ran under the key locks, which this transaction still holds.
    return lead_services.lead_create(
        acting_user=None, data=data, company_data=company_data, allow_duplicate=True
    )


def _log_submission(form: LeadForm, lead: Lead, submission: Submission) -> None:
    lines = [
        f"{name}: {value}" for name in FormField.values if (value := getattr(submission, name, ""))
    ]
    lead_services.interaction_log(
        lead=lead,
        acting_user=None,
        data={
            "type": InteractionType.NOTE,
            "direction": Direction.INBOUND,
            "subject": f"Web form: {form.name}"[:200],
            "content": "\n".join(str(line) for line in lines),
        },
    )


def _record_consent(form: LeadForm, lead: Lead, submission: Submission) -> None:
    if not submission.consent:
        return
    evidence = {
        "form": form.name,
        "form_url": submission.page_url,
        "ip": submission.ip_address or "",
        "text": form.consent_text,
    }
    for purpose in form.consent_purposes:
        compliance_services.consent_record(
            lead=lead,
            purpose=purpose,
            granted=True,
            source=ConsentSource.WEB_FORM,
            acting_user=None,
            evidence=evidence,
        )


@transaction.atomic
def form_submit(*, form: LeadForm, submission: Submission) -> tuple[Outcome, Lead | None]:
    """Turn a submission into a new or updated lead (see the module's docstring)."""
    _check_required(form, submission)
    settings = lead_services.organization_settings()
    lead_data, company_data = _given(submission)
    candidate = _candidate(lead_data, company_data, settings)
    if is_suppressed(email=candidate.contact_email, phone=candidate.contact_phone):
        return Outcome.SUPPRESSED, None
    keys = selectors.keys_of(candidate)
    lead_services.lock_duplicate_keys(keys)
    duplicates = selectors.duplicates_of(keys=keys)
    if duplicates:
        outcome, lead = Outcome.UPDATED, _update_known(duplicates[0].lead, lead_data, company_data)
    else:
        outcome, lead = Outcome.CREATED, _create_new(form, lead_data, company_data)
    _record_consent(form, lead, submission)
    _log_submission(form, lead, submission)
    return outcome, lead
