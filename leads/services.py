"""Writes of lead generation. The API, the admin, imports and commands all call these.

Each function is one transaction, takes `acting_user` (None for system jobs such as
commands and demo data) and checks it against the permission service, so a bulk action
or a secondary endpoint cannot skip the object permission. Input is validated here, with
the same normalizers whatever the path, and a failure writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from accounts.models import Membership, Organization, User
from compliance.erased import (
    LeadErased,
    erased_lead_ids,
    lock_leads,
    refuse_if_company_erased,
    refuse_if_erased,
    refuse_if_row_erased,
)
from compliance.suppression import ensure_not_suppressed
from leads import scoring, selectors, status_notes
from leads.choices import Direction, InteractionType, LeadStatus
from leads.exceptions import DuplicateLead, InvalidTransition
from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag, Tag
from leads.normalize import (
    DEFAULT_COUNTRY_CODE,
    normalize_email,
    normalize_phone,
    normalize_website,
    website_domain,
)
from notifications import events as notification_events
from sharing.reassigning import (
    NOT_CONVERTED_BY_A_SHARE,
    refuse_merging_into_a_share,
    refuse_reassigning_by_a_share,
)
from smartweb import access, json_schema, time_zones
from smartweb.errors import REFUSALS, refusal_message
from smartweb.locks import advisory_xact_lock
from smartweb.outage import retried_on_conflict
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import acting_user as context_user
from smartweb.tenancy.context import current_membership, current_organization_id
from smartweb.writes import DeletedMeanwhile, locked, locked_rows, save_changed, values_of
from webhooks import outbox, payloads
from webhooks.choices import EventType

# The lead workflow: status -> the statuses it may move to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    LeadStatus.NEW: (
        LeadStatus.CONTACTED,
        LeadStatus.QUALIFIED,
        LeadStatus.UNQUALIFIED,
        LeadStatus.NURTURING,
        LeadStatus.LOST,
    ),
    LeadStatus.CONTACTED: (
        LeadStatus.QUALIFIED,
        LeadStatus.UNQUALIFIED,
        LeadStatus.NURTURING,
        LeadStatus.CONVERTED,
        LeadStatus.LOST,
    ),
    LeadStatus.NURTURING: (
        LeadStatus.CONTACTED,
        LeadStatus.QUALIFIED,
        LeadStatus.UNQUALIFIED,
        LeadStatus.CONVERTED,
        LeadStatus.LOST,
    ),
    LeadStatus.QUALIFIED: (
        LeadStatus.CONVERTED,
        LeadStatus.NURTURING,
        LeadStatus.UNQUALIFIED,
        LeadStatus.LOST,
    ),
    LeadStatus.UNQUALIFIED: (LeadStatus.NURTURING, LeadStatus.LOST),
    LeadStatus.LOST: (LeadStatus.NURTURING,),
    LeadStatus.CONVERTED: (),
}
DEFAULT_QUALIFICATION_THRESHOLD = 50

COMPANY_FIELDS = frozenset(
    {
        "name",
        "business_type",
        "size",
        "phone",
        "email",
        "website",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "country",
        "online_presence",
        "is_customer",
        "customer_since",
        "metadata",
    }
)
LEAD_FIELDS = frozenset(
    {
        "contact_name",
        "contact_title",
        "contact_email",
        "contact_phone",
        "source",
        "assigned_to",
        "next_follow_up_at",
        "consent_to_contact",
        "do_not_contact",
        "notes",
        "score_override",
    }
)
INTERACTION_FIELDS = frozenset(
    {
        "type",
        "direction",
        "subject",
        "content",
        "occurred_at",
        "duration_seconds",
        "outcome",
        "ai_analysis",
    }
)
TAG_FIELDS = frozenset({"name", "color", "description"})


# --- permissions -------------------------------------------------------------------


def _authorize_for_lead(user: User | None, action: str, resource: str, lead: Lead) -> None:
    """A new row belonging to `lead` (interaction, enrichment) is in the lead's scope."""
    if user is not None and not access.within_scope(user, action, lead, resource=resource):
        raise PermissionDenied("You do not have permission to do this for that lead.")


def check_assignee(user: User | None, assignee: User | None, action: str) -> None:
    """Assignees are active members; the role's scope bounds whom one may assign to."""
    if assignee is not None and not (
        assignee.is_active and Membership.objects.filter(user=assignee, is_active=True).exists()
    ):
        raise ValidationError({"assigned_to": "Not an active member of this organization."})
    if user is None:
        return
    scope = access.scope_for(user, action, Resource.LEADS)
    if scope == Scope.ALL:
        return
    if scope == Scope.TEAM:
        members = access.team_member_ids(_membership_of(user))
        if assignee is None or assignee.pk not in members:
            raise ValidationError({"assigned_to": "You may only assign leads within your team."})
    elif assignee != user:
        raise ValidationError({"assigned_to": "You may only assign leads to yourself."})


def _membership_of(user: User):
    membership = current_membership()
    return membership if membership is not None and membership.user_id == user.pk else None


# --- organization settings ---------------------------------------------------------


def organization_settings(organization_id=None) -> dict:
    organization_id = organization_id or current_organization_id()
    value = (
        Organization.objects.filter(pk=organization_id).values_list("settings", flat=True).first()
    )
    return value if isinstance(value, dict) else {}


def qualification_threshold(settings: Mapping) -> int:
    value = settings.get("qualification_threshold", DEFAULT_QUALIFICATION_THRESHOLD)
    valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100
    return value if valid else DEFAULT_QUALIFICATION_THRESHOLD


def country_code(settings: Mapping) -> str:
    value = str(settings.get("default_country_code", DEFAULT_COUNTRY_CODE))
    return value if value.isdigit() and 1 <= len(value) <= 3 else DEFAULT_COUNTRY_CODE


def allowed_transitions(status: str) -> list[str]:
    return [str(s) for s in TRANSITIONS.get(status, ())]


# --- validation --------------------------------------------------------------------


def _full_clean(
    instance, errors: dict, fields: Iterable[str] | None = None, normalized: Iterable[str] = ()
) -> None:
    """Field validation of `fields` (default: all), without foreign key and constraint
    queries, merged with the `errors` found so far. `normalized` fields went through
    the normalizers, which ran their validators already: only their length is left.

    Only the fields a change sets need checking: the others hold values validated when
    they were set (or valid defaults), and skipping them keeps a 100,000-row import fast.
    Foreign keys are checked by the callers (within the organization) and by the
    composite keys in the database; uniqueness by the partial unique indexes.
    """
    names = {f.name for f in instance._meta.fields}
    exclude = {f.name for f in instance._meta.fields if f.is_relation} | set(errors)
    if fields is not None:
        exclude |= names - set(fields)
    for name in set(normalized) - exclude:
        limit = instance._meta.get_field(name).max_length
        if limit and len(getattr(instance, name)) > limit:
            errors[name] = [f"Ensure this value has at most {limit} characters."]
    exclude |= set(normalized)
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _set_fields(instance, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError({name: "This field cannot be set here." for name in unknown})
    for name, value in data.items():
        setattr(instance, name, value)


def _normalize(errors: dict, field: str, func: Callable[[], Any]) -> Any:
    try:
        return func()
    except ValidationError as exc:
        errors.setdefault(field, []).extend(exc.messages)
        return None


def clean_online_presence(value: Any) -> dict:
    """The declared online presence (leads.json_schemas), its profile URLs valid."""
    if value in (None, ""):
        return {}
    json_schema.check(Company, "online_presence", value)
    for url in value.get("social_profiles", {}).values():
        normalize_website(url)
    return value


def clean_ai_analysis(value: Any) -> dict:
    """The declared AI analysis (leads.json_schemas) of an interaction or a call."""
    if value in (None, ""):
        return {}
    json_schema.check(Interaction, "ai_analysis", value)
    return value


def clean_company_fields(company: Company, data: Mapping[str, Any], settings: Mapping) -> None:
    """Apply and validate company fields, and derive its de-duplication keys."""
    _set_fields(company, data, COMPANY_FIELDS)
    errors: dict = {}
    company.name = (company.name or "").strip()
    company.country = (company.country or "").strip().upper()
    phone = _normalize(
        errors, "phone", lambda: normalize_phone(company.phone, country_code=country_code(settings))
    )
    company.phone_normalized = phone or ""
    company.email = _normalize(errors, "email", lambda: normalize_email(company.email)) or ""
    company.email_normalized = company.email
    company.website = _normalize(errors, "website", lambda: normalize_website(company.website))
    company.website = company.website or ""
    company.website_domain = website_domain(company.website)
    company.online_presence = _normalize(
        errors, "online_presence", lambda: clean_online_presence(company.online_presence)
    )
    if company.is_customer and company.customer_since is None:
        # The organization's day (ADR 0050), as a signed contract's is.
        company.customer_since = time_zones.organization_today()
    elif not company.is_customer:
        company.customer_since = None
    _full_clean(
        company,
        errors,
        {*data, "name"},
        normalized=("phone", "email", "website", "online_presence"),
    )


def clean_lead_fields(lead: Lead, data: Mapping[str, Any], settings: Mapping) -> None:
    consent_before = lead.consent_to_contact
    _set_fields(lead, data, LEAD_FIELDS)
    errors: dict = {}
    phone = _normalize(
        errors,
        "contact_phone",
        lambda: normalize_phone(lead.contact_phone, country_code=country_code(settings)),
    )
    lead.contact_phone_normalized = phone or ""
    lead.contact_email = (
        _normalize(errors, "contact_email", lambda: normalize_email(lead.contact_email)) or ""
    )
    lead.contact_email_normalized = lead.contact_email
    if lead.consent_to_contact != consent_before or (
        lead._state.adding and lead.consent_to_contact and lead.consent_updated_at is None
    ):
        lead.consent_updated_at = timezone.now()
    _full_clean(lead, errors, data, normalized=("contact_phone", "contact_email"))


# --- scoring -----------------------------------------------------------------------


def apply_score(lead: Lead, weights: Mapping[str, float], recent: int, positive: int) -> bool:
    """Set the lead's score and breakdown; True when they changed."""
    inputs = scoring.inputs_for(lead, recent_interactions=recent, positive_outcomes=positive)
    score, breakdown = scoring.compute(inputs, weights)
    if lead.score_override is not None:
        breakdown["override"] = lead.score_override
        score = lead.score_override
    changed = score != lead.lead_score or breakdown != lead.score_breakdown
    lead.lead_score = score
    lead.score_breakdown = breakdown
    lead.scored_at = timezone.now()
    return changed


SCORE_FIELDS = ("lead_score", "score_breakdown", "scored_at", "updated_at")


def _rescore(lead: Lead, settings: Mapping | None = None, *, held: bool = False) -> Lead:
    """Score the lead from its stored row and interactions. The row is read again under
    its lock unless the caller holds it (`held`): concurrent writers (a call logged while
    another marks the lead do-not-contact) then score in turn, the last one from every
    committed change, not from the lead as its request first read it. The new score is
    set on `lead` too."""
    # No key lock: interactions being logged on the lead hold KEY SHARE on it until
    # they commit, and a FOR UPDATE here would deadlock two of them.
    current = lead if held else locked(lead, "company", no_key=True)
    settings = settings if settings is not None else organization_settings(lead.organization_id)
    recent, positive = selectors.engagement_of(current)
    if apply_score(current, scoring.weights_for(settings), recent, positive):
        current.save(update_fields=list(SCORE_FIELDS))
    for name in SCORE_FIELDS:
        setattr(lead, name, getattr(current, name))
    return lead


@transaction.atomic
def lead_rescore(*, lead: Lead, acting_user: User | None) -> Lead:
    access.require(acting_user, Action.UPDATE, Resource.LEADS, lead)
    refuse_if_erased(lead)
    return _rescore(lead)


class Rescored(NamedTuple):
    """What a bulk re-score did: the scores it changed, and the erased leads it left out
    (`compliance.erased`: an erased person's lead is no longer written)."""

    changed: int
    erased: int

    def erased_note(self) -> str:
        """What to tell whoever asked of the erased leads left out; "" when none was."""
        if not self.erased:
            return ""
        return (
            f"{self.erased} erased lead(s) skipped: a person erased at their request (GDPR) "
            "is not re-scored."
        )


def leads_rescore(
    *,
    queryset,
    acting_user: User | None,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> Rescored:
    """Recompute the score of every lead in `queryset` but the erased ones; how many
    changed and how many were erased.

    Batches are keyset-paginated and each is its own transaction, so a long run holds no
    long locks; the engagement counts come with the leads in the same query. A batch's
    leads are locked (`locked_rows`) before the erased ones are told apart: an erasure
    that completed meanwhile is seen, one that starts waits for the batch.
    """
    if acting_user is not None:
        queryset = access.visible(acting_user, Action.UPDATE, queryset)
    weights = scoring.weights_for(organization_settings())
    changed_total = erased_total = 0
    last = None
    base = selectors.with_engagement(queryset.select_related("company")).order_by("pk")
    while True:
        batch = list((base.filter(pk__gt=last) if last else base)[:batch_size])
        if not batch:
            return Rescored(changed_total, erased_total)
        with transaction.atomic():
            locked_rows(Lead, batch)  # as every bulk change of leads locks them
            erased = erased_lead_ids(batch)
            changed = [
                lead
                for lead in batch
                if lead.pk not in erased
                and apply_score(lead, weights, lead.recent_interactions, lead.positive_outcomes)
            ]
            for lead in changed:  # a new score is a new version of the lead (its ETag)
                lead.updated_at = lead.scored_at
            bulk_update_with_history(
                changed,
                Lead,
                ["lead_score", "score_breakdown", "scored_at", "updated_at"],
                batch_size=batch_size,
                default_user=acting_user,
                default_change_reason="rescore",
            )
        changed_total += len(changed)
        erased_total += len(erased)
        last = batch[-1].pk
        if progress:
            progress(len(batch))


# --- companies ---------------------------------------------------------------------


@transaction.atomic
def company_create(*, acting_user: User | None, data: Mapping[str, Any]) -> Company:
    access.require(acting_user, Action.CREATE, Resource.COMPANIES)
    company = Company(organization_id=current_organization_id(), created_by=acting_user)
    clean_company_fields(company, data, organization_settings())
    company.save()
    return company


@transaction.atomic
def company_update(*, company: Company, acting_user: User | None, data: Mapping) -> Company:
    access.require(acting_user, Action.UPDATE, Resource.COMPANIES, company)
    # Its leads before the company, which it then locks: the order a note's re-score and
    # a lead's edit take them in (`lock_company_leads`).
    refuse_if_company_erased(company, for_update=True)
    company = locked(company)
    before = values_of(company)
    settings = organization_settings(company.organization_id)
    clean_company_fields(company, data, settings)
    if save_changed(company, before):
        # The company is part of its lead as shown (and as a lead's edit writes it): the
        # lead's version moves with it.
        for lead in company.leads.all():
            lead = locked(lead, no_key=True)
            lead.company = company
            save_changed(lead, values_of(lead), parts_changed=True)
            _rescore(lead, settings, held=True)
    return company


@transaction.atomic
def company_delete(*, company: Company, acting_user: User | None) -> None:
    """Soft-delete the company and its lead (a lead without its company means nothing);
    the lead goes with it in the same deletion, so restoring the company restores it."""
    access.require(acting_user, Action.DELETE, Resource.COMPANIES, company)
    company.delete()


# --- leads -------------------------------------------------------------------------


# A company a new lead may not be given, whether it exists or not (`_company_readable`).
UNKNOWN_COMPANY = "Unknown company."


def _company_readable(acting_user: User | None, company: Company) -> bool:
    """May a new lead be given this existing company? Only one the acting user may read:
    the lead would make the company its assignee's. Any other, out of scope, deleted or of
    another organization, is refused as if it did not exist."""
    if company.is_deleted or company.organization_id != current_organization_id():
        return False
    return acting_user is None or access.can(acting_user, Action.READ, Resource.COMPANIES, company)


@transaction.atomic
def lead_create(
    *,
    acting_user: User | None,
    data: Mapping[str, Any],
    company: Company | None = None,
    company_data: Mapping[str, Any] | None = None,
    tags: Sequence[Tag] = (),
    allow_duplicate: bool = False,
) -> Lead:
    """A lead for an existing company, or for a new one described by `company_data`.

    Raises `DuplicateLead` when the business matches existing leads, unless
    `allow_duplicate`. A Sales Rep's new lead is theirs; assignment follows the scope.
    """
    access.require(acting_user, Action.CREATE, Resource.LEADS)
    settings = organization_settings()
    data = dict(data)
    if acting_user is not None and "assigned_to" not in data:
        scope = access.scope_for(acting_user, Action.CREATE, Resource.LEADS)
        data["assigned_to"] = None if scope == Scope.ALL else acting_user
    if "assigned_to" in data:
        check_assignee(acting_user, data["assigned_to"], Action.CREATE)
    if company is None:
        if company_data is None:
            raise ValidationError({"company": "A lead needs a company, existing or new."})
        access.require(acting_user, Action.CREATE, Resource.COMPANIES)
        company = Company(organization_id=current_organization_id())
        clean_company_fields(company, company_data, settings)
    elif not _company_readable(acting_user, company):
        raise ValidationError({"company": UNKNOWN_COMPANY})
    else:
        refuse_if_company_erased(company)
        if Lead.all_objects.filter(company=company).exists():
            # A lead in the trash still holds its company: restoring it must find it free.
            raise ValidationError({"company": "This company already has a lead."})
    lead = Lead(organization_id=current_organization_id(), company=company)
    clean_lead_fields(lead, data, settings)
    # A person erased at their request is not silently re-created.
    ensure_not_suppressed(
        emails=[lead.contact_email, company.email], phones=[lead.contact_phone, company.phone]
    )
    if not allow_duplicate:
        keys = selectors.keys_of(lead)
        lock_duplicate_keys(keys)
        duplicates = selectors.duplicates_of(keys=keys)
        if duplicates:
            raise DuplicateLead(duplicates)
    apply_score(lead, scoring.weights_for(settings), 0, 0)
    if company._state.adding:
        company.save()
    lead.save()
    _add_tags(lead, tags, acting_user)
    outbox.emit(EventType.LEAD_CREATED, {"lead": payloads.lead(lead)})
    notification_events.lead_assigned(lead=lead, acting_user=acting_user)
    return lead


# The lock an import holds for its organization; a lead created meanwhile waits for it.
IMPORT_LOCK = "leads-import"


def lock_duplicate_keys(keys: Mapping[str, Iterable[str]]) -> None:
    """Serialise the duplicate check of creates sharing a key: the second waits until the
    first commits, then finds its lead. Keys are locked in one order (no deadlock), after
    the organization's import lock (shared: creates do not wait for each other)."""
    organization_id = current_organization_id()
    advisory_xact_lock(IMPORT_LOCK, organization_id, shared=True)
    for kind, key in sorted((kind, key) for kind, values in keys.items() for key in values):
        advisory_xact_lock("lead-key", organization_id, kind, key)


@transaction.atomic
def lead_update(
    *,
    lead: Lead,
    acting_user: User | None,
    data: Mapping[str, Any] | None = None,
    company_data: Mapping[str, Any] | None = None,
    tags: Sequence[Tag] | None = None,
    status_reason: str = "",
) -> Lead:
    """Change a lead (and its company); a status change follows the workflow. Nothing to
    change writes nothing (no history row, no re-score).

    The lead and its company are changed as stored, under their row locks, and only the
    fields that change are written: concurrent changes of other fields survive."""
    access.require(acting_user, Action.UPDATE, Resource.LEADS, lead)
    refuse_if_erased(lead, for_update=True)
    if not (data or company_data or status_reason) and tags is None:
        return lead
    lead = locked(lead, "company")
    settings = organization_settings(lead.organization_id)
    data = dict(data or {})
    status = data.pop("status", None)
    if "assigned_to" in data and data["assigned_to"] != lead.assigned_to:
        refuse_reassigning_by_a_share(acting_user, lead, Resource.LEADS, "assigned_to")
        check_assignee(acting_user, data["assigned_to"], Action.UPDATE)
    # The company and the tags are part of the lead as shown: changing them moves the
    # lead's version too (an If-Match read before is stale), the same ones again do not.
    parts_changed = False
    if company_data:
        access.require(acting_user, Action.UPDATE, Resource.COMPANIES, lead.company)
        company_before = values_of(lead.company)
        clean_company_fields(lead.company, company_data, settings)
        parts_changed = bool(save_changed(lead.company, company_before))
    before = values_of(lead)
    clean_lead_fields(lead, data, settings)
    if tags is not None:
        parts_changed = _set_tags(lead, tags, acting_user) or parts_changed
    changed = save_changed(lead, before, parts_changed=parts_changed)
    if "assigned_to_id" in changed:
        notification_events.lead_assigned(lead=lead, acting_user=acting_user)
    if status is not None and status != lead.status:
        lead = lead_change_status(
            lead=lead, status=status, acting_user=acting_user, reason=status_reason
        )
    elif not (changed or parts_changed):
        # The same values again: nothing to re-score for (a score aged since is the
        # re-score's to change, not this update's).
        return lead
    return _rescore(lead, settings, held=True)


@transaction.atomic
def lead_delete(*, lead: Lead, acting_user: User | None) -> None:
    """Soft-delete the lead with its rows. Its lock first, as a merge takes it (`FOR
    UPDATE`): a row being added holds the lead `FOR KEY SHARE` (`lock_lead_to_add_to`),
    which the soft delete's own lock leaves free; the delete now waits for it and takes
    the row to the trash too, and a row added later is refused at `lead`."""
    access.require(acting_user, Action.DELETE, Resource.LEADS, lead)
    lock_leads([lead], for_update=True)
    lead.delete()


@transaction.atomic
def lead_change_status(
    *, lead: Lead, status: str, acting_user: User | None, reason: str = ""
) -> Lead:
    """Move a lead along the workflow, recorded as a note on its timeline.

    Raises `InvalidTransition` (with the allowed next states) off the graph, and a
    ValidationError when qualifying below the organization's threshold without a reason.
    """
    access.require(acting_user, Action.UPDATE, Resource.LEADS, lead)
    if status not in LeadStatus.values:
        raise ValidationError({"status": f"Unknown status '{status}'."})
    refuse_if_erased(lead, for_update=True)
    current = locked(lead, "company")
    if current.status == status:
        return current
    allowed = allowed_transitions(current.status)
    if status not in allowed:
        raise InvalidTransition(current=current.status, requested=status, allowed=allowed)
    if status == LeadStatus.CONVERTED:
        # Converted, the lead's sale is taken: a colleague it is only shared with does not
        # (ADR 0041), as they do not convert it into a deal or reassign it.
        refuse_reassigning_by_a_share(
            acting_user, current, Resource.LEADS, "status", NOT_CONVERTED_BY_A_SHARE
        )
    reason = (reason or "").strip()
    if status == LeadStatus.QUALIFIED:
        settings = organization_settings(current.organization_id)
        _rescore(current, settings, held=True)
        threshold = qualification_threshold(settings)
        # The computed score, not an override: a score typed in by hand is a judgement,
        # and a judgement that passes the threshold needs its reason like any other.
        computed = current.score_breakdown.get("score", current.lead_score)
        if computed < threshold and not reason:
            raise ValidationError(
                {
                    "reason": f"The computed score {computed} is below the qualification"
                    f" threshold of {threshold}: give a reason to qualify this lead."
                }
            )
    previous = current.status
    current.status = status
    current.status_changed_at = timezone.now()
    current.save(update_fields=["status", "status_changed_at", "updated_at"])
    Interaction.objects.create(
        organization_id=current.organization_id,
        lead=current,
        type=InteractionType.NOTE,
        direction=Direction.INTERNAL,
        subject=status_notes.note_subject(previous, status),
        content=reason,
        created_by=user_or_none(acting_user),
        ai_analysis={},
    )
    outbox.emit(
        EventType.LEAD_STATUS_CHANGED,
        {"lead": payloads.lead(current), "previous_status": previous},
    )
    return current


def lead_qualify(*, lead: Lead, acting_user: User | None, reason: str = "") -> Lead:
    return lead_change_status(
        lead=lead, status=LeadStatus.QUALIFIED, acting_user=acting_user, reason=reason
    )


@retried_on_conflict
def leads_change_status(
    *, leads: Iterable[Lead], status: str, acting_user: User | None, reason: str = ""
) -> tuple[int, dict[str, str]]:
    """The bulk form: changed count and, per lead left unchanged, why (an erased one
    among them: `compliance.erased`). The leads are locked before any is changed
    (`locked_rows`)."""
    changed, failed = 0, {}
    for lead in locked_rows(Lead, leads, "company"):
        try:
            with transaction.atomic():
                lead_change_status(lead=lead, status=status, acting_user=acting_user, reason=reason)
            changed += 1
        except REFUSALS as exc:
            failed[str(lead)] = refusal_message(exc)
    return changed, failed


@retried_on_conflict
def leads_assign(*, leads: Iterable[Lead], assignee: User | None, acting_user: User | None) -> int:
    """Assign the leads, as they are once locked (`locked_rows`): a lead's other fields,
    and its assignee, as a concurrent change left them. None is assigned when one of them
    is erased (`compliance.erased`), as when one may not be changed."""
    leads = locked_rows(Lead, leads)
    for lead in leads:
        access.require(acting_user, Action.UPDATE, Resource.LEADS, lead)
        if lead.assigned_to_id != getattr(assignee, "pk", None):
            refuse_reassigning_by_a_share(acting_user, lead, Resource.LEADS, "assigned_to")
    if erased_lead_ids(leads):
        raise LeadErased()
    check_assignee(acting_user, assignee, Action.UPDATE)
    count = 0
    for lead in leads:
        if lead.assigned_to_id != getattr(assignee, "pk", None):
            lead.assigned_to = assignee
            lead.save(update_fields=["assigned_to", "updated_at"])
            notification_events.lead_assigned(lead=lead, acting_user=acting_user)
            count += 1
    return count


# --- tags --------------------------------------------------------------------------


@transaction.atomic
def tag_create(*, acting_user: User | None, data: Mapping[str, Any]) -> Tag:
    access.require(acting_user, Action.CREATE, Resource.LEADS)
    tag = Tag(organization_id=current_organization_id())
    return _save_tag(tag, data)


@transaction.atomic
def tag_update(*, tag: Tag, acting_user: User | None, data: Mapping[str, Any]) -> Tag:
    access.require(acting_user, Action.UPDATE, Resource.LEADS, tag)
    return _save_tag(locked(tag), data)


@transaction.atomic
def tag_delete(*, tag: Tag, acting_user: User | None) -> None:
    """Soft-delete the tag and take it off every lead (with history)."""
    access.require(acting_user, Action.DELETE, Resource.LEADS, tag)
    tag_remove(tag=tag)


def tag_remove(*, tag: Tag, into: Tag | None = None) -> None:
    """Take the tag off every lead (giving those leads `into` instead, when given) and
    soft-delete it, with history written as the user in context. Checks no permission:
    for callers that checked theirs (`tag_delete`, an erasure folding a tag into the one
    its scrubbed name is).

    Its leads, then the tag, are locked before its links are listed, in the order a
    tagging takes them (its lead, then its tags: `hold_tags`): a tagging under way is
    waited for and its link taken off below; one that comes later waits for this and is
    refused. Listed without the lock, a link committed meanwhile stayed on a deleted tag."""
    linked = Lead.all_objects.filter(lead_tags__tag=tag).values_list("pk", flat=True)
    lock_leads(linked, for_update=True)
    locked_rows(Tag, [tag])
    if into is not None:
        for lead in Lead.all_objects.filter(lead_tags__tag=tag):
            _add_tags(lead, [into], context_user())
    for lead_tag in LeadTag.objects.filter(tag=tag):
        lead_tag.delete()
    tag.delete()


@transaction.atomic
def tag_restore(*, tag: Tag, acting_user: User | None) -> Tag:
    access.require(acting_user, Action.DELETE, Resource.LEADS, tag)
    tag.restore()
    return tag


def _save_tag(tag: Tag, data: Mapping[str, Any]) -> Tag:
    before = {} if tag._state.adding else values_of(tag)
    _set_fields(tag, data, TAG_FIELDS)
    tag.name = (tag.name or "").strip()
    errors: dict = {}
    if tag.name and Tag.objects.filter(name__iexact=tag.name).exclude(pk=tag.pk).exists():
        errors["name"] = ["A tag with this name exists."]
    _full_clean(tag, errors, {*data, "name", "color"})
    if tag._state.adding:
        tag.save()
    else:
        save_changed(tag, before)
    return tag


def _check_tags(lead: Lead, tags: Iterable[Tag]) -> list[Tag]:
    tags = list(dict.fromkeys(tags))
    if any(t.organization_id != lead.organization_id or t.is_deleted for t in tags):
        raise ValidationError({"tags": "Unknown tag."})
    if len(hold_tags(lead.organization_id, tags)) != len(tags):
        raise ValidationError({"tags": "Unknown tag."})
    return tags


def hold_tags(organization_id, tags: Iterable[Tag]) -> set:
    """Share-lock the tags until the transaction ends: the ids of those not deleted by
    then. A delete locks its tag before it lists the tag's links (`tag_remove`): a link
    made to a held tag is listed and taken off by a delete that comes later, and a tag
    whose delete the hold waited for is not held, which the caller refuses (a tagging,
    as the same request a moment later is) or creates anew (an import). Shared:
    taggings and imports of one tag do not wait on each other."""
    ids = sorted({tag.pk for tag in tags})
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Tag._meta.db_table} WHERE organization_id = %s AND id = ANY(%s)"
            " AND deleted_at IS NULL ORDER BY id FOR SHARE",
            [organization_id, ids],
        )
        return {row[0] for row in cursor.fetchall()}


def _add_tags(lead: Lead, tags: Iterable[Tag], acting_user: User | None) -> int:
    """Link the lead to those of `tags` it is not linked to; the number of links added.
    A link that a concurrent transaction adds meanwhile is kept as it is (the insert
    does nothing on the unique key, it does not fail), and only the links really added
    here get their history row."""
    tags = _check_tags(lead, tags)
    present = set(LeadTag.objects.filter(lead=lead).values_list("tag_id", flat=True))
    new = [
        LeadTag(organization_id=lead.organization_id, lead=lead, tag=tag)
        for tag in tags
        if tag.pk not in present
    ]
    if not new:
        return 0
    LeadTag.objects.bulk_create(new, ignore_conflicts=True)
    added = list(LeadTag.objects.filter(pk__in=[link.pk for link in new]))
    if added:
        LeadTag.history.bulk_history_create(added, default_user=user_or_none(acting_user))
    return len(added)


def _set_tags(lead: Lead, tags: Sequence[Tag], acting_user: User | None) -> bool:
    """Link the lead to exactly `tags`; whether a link was added or removed."""
    tags = _check_tags(lead, tags)
    keep = {tag.pk for tag in tags}
    removed = False
    for lead_tag in LeadTag.objects.filter(lead=lead).exclude(tag_id__in=keep):
        lead_tag.delete()
        removed = True
    return bool(_add_tags(lead, tags, acting_user)) or removed


def _change_tags(lead: Lead, change: Callable[[Lead], bool]) -> tuple[Lead, bool]:
    """Change the lead's tag links (`change` says whether it did) under the lead's lock,
    moving its version when they changed, as an edit of the lead does: the lead as
    locked and written, and whether they changed."""
    refuse_if_erased(lead, for_update=True)
    lead = locked(lead)
    before = values_of(lead)
    changed = change(lead)
    save_changed(lead, before, parts_changed=changed)
    return lead, changed


@transaction.atomic
def lead_set_tags(*, lead: Lead, tags: Sequence[Tag], acting_user: User | None) -> Lead:
    access.require(acting_user, Action.UPDATE, Resource.LEADS, lead)
    return _change_tags(lead, lambda locked_lead: _set_tags(locked_lead, tags, acting_user))[0]


@transaction.atomic
def leads_add_tag(*, leads: Iterable[Lead], tag: Tag, acting_user: User | None) -> int:
    """Tag the leads; the number of leads that did not have the tag. One that has it
    already, or is given it by someone else meanwhile, is left as it is; one deleted
    meanwhile is left out. None is tagged when one of them is erased (`compliance.erased`),
    as when one may not be changed."""
    leads = list(leads)
    for lead in leads:
        access.require(acting_user, Action.UPDATE, Resource.LEADS, lead)
    if erased_lead_ids(leads):
        raise LeadErased()
    count = 0
    for lead in leads:
        try:
            _, added = _change_tags(
                lead, lambda locked_lead: bool(_add_tags(locked_lead, [tag], acting_user))
            )
        except DeletedMeanwhile:
            continue
        count += added
    return count


# --- interactions and enrichment ---------------------------------------------------


def user_or_none(user: User | None) -> User | None:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _prepare_interaction(interaction: Interaction, data: Mapping[str, Any]) -> None:
    _set_fields(interaction, data, INTERACTION_FIELDS)
    errors: dict = {}
    interaction.ai_analysis = _normalize(
        errors, "ai_analysis", lambda: clean_ai_analysis(interaction.ai_analysis)
    )
    if interaction.occurred_at is None:
        interaction.occurred_at = timezone.now()
    elif timezone.is_naive(interaction.occurred_at):
        errors["occurred_at"] = ["Give the time with its timezone."]
    _full_clean(interaction, errors, {*data, "type", "direction", "occurred_at"})


def _touch_last_contacted(lead: Lead, interaction: Interaction) -> None:
    """Move last_contacted_at forward only, in one statement (no read-modify-write)."""
    occurred = interaction.occurred_at
    if interaction.type not in selectors.CONTACT_TYPES or occurred > timezone.now():
        return
    updated = Lead.objects.filter(
        Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=occurred), pk=lead.pk
    ).update(last_contacted_at=occurred, updated_at=timezone.now())
    if updated:
        lead.last_contacted_at = occurred


def lock_lead_to_add_to(lead) -> None:
    """Lock the lead (a lead or its id) a row is added to, as `refuse_if_erased` does, and
    refuse one erased, or deleted or merged away since the request found it (at `lead`,
    as the same request sent a moment later is refused). The lock's own statement reads
    the row as a delete or merge that held the lock committed it: a merge moved the
    lead's rows to its primary before this one came, and the row would be left on the
    merged lead, out of sight."""
    pk = getattr(lead, "pk", lead)
    found = refuse_if_erased(pk).get(str(pk))
    if found is None or not found.deleted:
        return
    if found.merged_into_id:
        message = f"This lead was merged into lead {found.merged_into_id}: add it there."
        raise ValidationError({"lead": message})
    raise ValidationError({"lead": "This lead is deleted."})


def lock_record_to_add_to(record) -> None:
    """Before a row (a file, a share) is added to `record`: a lead locked and checked as
    `lock_lead_to_add_to`; another record (a company, a deal) refused when its lead is
    erased (`refuse_if_row_erased`)."""
    if isinstance(record, Lead):
        lock_lead_to_add_to(record)
    else:
        refuse_if_row_erased(record)


@transaction.atomic
def interaction_log(
    *, lead: Lead, acting_user: User | None, data: Mapping[str, Any]
) -> Interaction:
    """Record a touchpoint; a contact moves last_contacted_at, and the lead is re-scored."""
    # The lock first: a lead deleted since the request found it is then refused at
    # `lead`, as a moment later, not as out of the user's scope (a 403).
    lock_lead_to_add_to(lead)
    _authorize_for_lead(acting_user, Action.CREATE, Resource.INTERACTIONS, lead)
    interaction = Interaction(
        organization_id=lead.organization_id, lead=lead, created_by=user_or_none(acting_user)
    )
    _prepare_interaction(interaction, data)
    interaction.save()
    _touch_last_contacted(lead, interaction)
    _rescore(lead)
    notification_events.mentioned(interaction=interaction, acting_user=acting_user)
    return interaction


@transaction.atomic
def interaction_update(
    *, interaction: Interaction, acting_user: User | None, data: Mapping[str, Any]
) -> Interaction:
    access.require(acting_user, Action.UPDATE, Resource.INTERACTIONS, interaction)
    refuse_if_erased(interaction.lead_id)
    interaction = locked(interaction)
    before = values_of(interaction)
    if data.get("subject") == status_notes.subject_as_read(interaction):
        # Sent back as it was read (an older status note by the labels): no change.
        data = {**data, "subject": interaction.subject}
    _prepare_interaction(interaction, data)
    changed = save_changed(interaction, before)
    if not changed:
        # Saved as it was: its lead is left as it is too. A score aged since it was last
        # scored (interactions past the engagement window) is the re-score's to change,
        # not a change of this interaction's.
        return interaction
    if "content" in changed:
        notification_events.mentioned(interaction=interaction, acting_user=acting_user)
    _touch_last_contacted(interaction.lead, interaction)
    _rescore(interaction.lead)
    return interaction


@transaction.atomic
def interaction_delete(*, interaction: Interaction, acting_user: User | None) -> None:
    access.require(acting_user, Action.DELETE, Resource.INTERACTIONS, interaction)
    interaction.delete()
    _rescore(interaction.lead)


# Enrichment keys copied into the company's online presence.
PRESENCE_KEYS = ("website_status", "google_rating", "google_review_count", "social_profiles")
# Company fields an enrichment may fill when they are empty.
FILLABLE_COMPANY_FIELDS = ("phone", "email", "website", "size", "city", "postal_code")


@transaction.atomic
def enrichment_record(
    *,
    lead: Lead,
    acting_user: User | None,
    provider: str,
    data: Mapping[str, Any] | None = None,
    confidence: Decimal | float | str | None = None,
    fetched_at: dt.datetime | None = None,
    apply: bool = True,
) -> LeadEnrichment:
    """Store what a provider found; with `apply`, copy it onto the company and re-score."""
    lock_lead_to_add_to(lead)  # before the scope check, as `interaction_log`'s
    _authorize_for_lead(acting_user, Action.UPDATE, Resource.LEADS, lead)
    # Optional as on the model: a provider that found nothing still reports it.
    data = {} if data is None else data
    errors: dict = {}
    if confidence is not None:
        try:
            confidence = Decimal(str(confidence))
        except InvalidOperation:
            errors["confidence"] = ["A number from 0 to 1."]
    enrichment = LeadEnrichment(
        organization_id=lead.organization_id,
        lead=lead,
        provider=provider,
        data=data,
        confidence=confidence,
        fetched_at=fetched_at or timezone.now(),
    )
    _full_clean(enrichment, errors)
    enrichment.save()
    if apply:
        # The lead, then its company, as a re-score and a merge lock them: locked alone
        # first, the company was waited for by a note's re-score holding the lead, which
        # this one's re-score then waited for (a lost deadlock, 409).
        company = locked(lead, "company", no_key=True).company
        before = values_of(company)
        presence = {**company.online_presence}
        presence.update({k: data[k] for k in PRESENCE_KEYS if k in data})
        changes: dict[str, Any] = {"online_presence": presence}
        for name in FILLABLE_COMPANY_FIELDS:
            if data.get(name) and not getattr(company, name):
                changes[name] = data[name]
        try:
            clean_company_fields(company, changes, organization_settings(lead.organization_id))
        except ValidationError as exc:
            messages = [f"{name}: {' '.join(errors)}" for name, errors in exc]
            raise ValidationError({"data": messages}) from exc
        save_changed(company, before)
        lead.company = company
        _rescore(lead)
    return enrichment


ENRICHMENT_FIELDS = frozenset({"provider", "data", "confidence", "fetched_at"})


@transaction.atomic
def enrichment_update(
    *, enrichment: LeadEnrichment, acting_user: User | None, data: Mapping[str, Any]
) -> LeadEnrichment:
    """Correct a stored enrichment; it is not applied to the company again."""
    access.require(acting_user, Action.UPDATE, Resource.LEADS, enrichment)
    refuse_if_erased(enrichment.lead_id)
    enrichment = locked(enrichment)
    before = values_of(enrichment)
    _set_fields(enrichment, data, ENRICHMENT_FIELDS)
    _full_clean(enrichment, {})
    save_changed(enrichment, before)
    return enrichment


# --- de-duplication ----------------------------------------------------------------

# Lead fields a merge copies from a duplicate when the primary has none.
MERGE_FILL_FIELDS = (
    "contact_name",
    "contact_title",
    "contact_email",
    "contact_phone",
    "contact_email_normalized",
    "contact_phone_normalized",
    "assigned_to_id",
    "next_follow_up_at",
)
MERGE_FILL_COMPANY_FIELDS = (
    "phone",
    "phone_normalized",
    "email",
    "email_normalized",
    "website",
    "website_domain",
    "size",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
)


@transaction.atomic
def leads_merge(*, primary: Lead, duplicates: Sequence[Lead], acting_user: User | None) -> Lead:
    """Fold duplicates into `primary`, keeping everything and its history.

    Interactions, enrichments, tags and every other row pointing at a duplicate (the
    crm's opportunities included) move to the primary; empty fields of the primary
    and its company are filled from the duplicates; each duplicate is soft-deleted
    with `merged_into` set, its company too, and a note records the merge.
    """
    access.require(acting_user, Action.UPDATE, Resource.LEADS, primary)
    refuse_merging_into_a_share(acting_user, primary, Resource.LEADS)
    ids = {d.pk for d in duplicates} - {primary.pk}
    if not ids:
        raise ValidationError({"duplicates": "Name at least one other lead to merge."})
    refuse_if_erased(primary, *ids, for_update=True)
    locked = {
        lead.pk: lead
        for lead in Lead.objects.select_for_update()
        .select_related("company")
        .filter(pk__in=ids | {primary.pk})
    }
    if primary.pk not in locked or set(locked) - {primary.pk} != ids:
        raise ValidationError({"duplicates": "Unknown or deleted lead."})
    primary = locked.pop(primary.pk)
    for duplicate in locked.values():
        access.require(acting_user, Action.DELETE, Resource.LEADS, duplicate)
    _refuse_second_open_deal([primary, *locked.values()])
    for duplicate in locked.values():
        _merge_one(primary, duplicate, acting_user)
    primary.save()
    primary.company.save()
    Interaction.objects.create(
        organization_id=primary.organization_id,
        lead=primary,
        type=InteractionType.NOTE,
        direction=Direction.INTERNAL,
        subject=f"Merged {len(locked)} duplicate lead(s)",
        content="\n".join(f"{d.company.name} ({d.pk})" for d in locked.values()),
        created_by=user_or_none(acting_user),
        ai_analysis={},
    )
    return _rescore(primary)


def _refuse_second_open_deal(leads: Sequence[Lead]) -> None:
    """A lead has at most one open opportunity (crm): leads that have one each cannot be
    merged until all but one are closed, or the constraint would stop the merge half-way."""
    from crm.choices import OpportunityStatus

    with_open = [
        lead for lead in leads if lead.opportunities.filter(status=OpportunityStatus.OPEN).exists()
    ]
    if len(with_open) > 1:
        raise ValidationError(
            {
                "duplicates": "Each of these leads has an open opportunity, and a lead keeps "
                "one: win, lose or delete all but one first."
            }
        )


def _merge_one(primary: Lead, duplicate: Lead, acting_user: User | None) -> None:
    for name in MERGE_FILL_FIELDS:
        if not getattr(primary, name) and getattr(duplicate, name):
            setattr(primary, name, getattr(duplicate, name))
    for name in MERGE_FILL_COMPANY_FIELDS:
        if not getattr(primary.company, name) and getattr(duplicate.company, name):
            setattr(primary.company, name, getattr(duplicate.company, name))
    primary.company.online_presence = {
        **(duplicate.company.online_presence or {}),
        **(primary.company.online_presence or {}),
    }
    # Safety first: if either record says do not contact, the merged one does.
    primary.do_not_contact = primary.do_not_contact or duplicate.do_not_contact
    if (duplicate.last_contacted_at or dt.datetime.min.replace(tzinfo=dt.UTC)) > (
        primary.last_contacted_at or dt.datetime.min.replace(tzinfo=dt.UTC)
    ):
        primary.last_contacted_at = duplicate.last_contacted_at
    if duplicate.notes:
        primary.notes = "\n\n".join(filter(None, [primary.notes, duplicate.notes]))
    _add_tags(primary, list(duplicate.tags.all()), acting_user)
    _move_related_rows(duplicate, primary, acting_user)
    duplicate.merged_into = primary
    duplicate.save(update_fields=["merged_into", "updated_at"])
    duplicate.delete()
    if duplicate.company_id != primary.company_id and not duplicate.company.leads.exists():
        duplicate.company.delete()


def _move_related_rows(source: Lead, target: Lead, acting_user: User | None) -> None:
    """Re-point every foreign key to `source` at `target`, writing history where kept."""
    for relation in Lead._meta.related_objects:
        model = relation.related_model
        if relation.many_to_many or model is LeadTag or model is Lead:
            continue
        field = relation.field
        rows = model._base_manager.filter(**{field.name: source})
        if hasattr(model._meta, "simple_history_manager_attribute"):
            objs = list(rows)
            for obj in objs:
                setattr(obj, field.name, target)
            bulk_update_with_history(
                objs,
                model,
                [field.name],
                default_user=user_or_none(acting_user),
                default_change_reason="merge",
                manager=model._base_manager,
            )
        else:
            rows.update(**{field.name: target})
