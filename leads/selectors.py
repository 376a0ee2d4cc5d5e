"""Read paths of lead generation with non-trivial queries: scoring inputs, duplicates."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from leads.choices import POSITIVE_OUTCOMES, InteractionType
from leads.models import Company, Interaction, Lead, LeadTag, Tag
from leads.scoring import ENGAGEMENT_WINDOW_DAYS
from smartweb import access, listing
from smartweb.rbac import Action, Resource, Scope
from smartweb.tenancy.context import current_organization_id

# Interactions that reach the lead (a note is internal, a website visit is theirs alone).
CONTACT_TYPES = (
    InteractionType.CALL,
    InteractionType.EMAIL,
    InteractionType.SMS,
    InteractionType.MEETING,
    InteractionType.AI_CALL,
)
# Which of a lead's keys are compared for de-duplication: kind -> lead field paths.
DUPLICATE_KEYS: dict[str, tuple[str, ...]] = {
    "phone": ("company__phone_normalized", "contact_phone_normalized"),
    "email": ("company__email_normalized", "contact_email_normalized"),
    "website": ("company__website_domain",),
}
MAX_DUPLICATE_GROUPS = 500


# The fields of each tag in `leads_lead.listed_tags` and of the company in
# `leads_lead.listed_company`, which the database keeps (leads migrations 0024 and 0026):
# the lists' tag and company serializers show exactly these.
LISTED_TAG_FIELDS = ("id", "name", "color")
LISTED_COMPANY_FIELDS = (
    "id",
    "name",
    "business_type",
    "size",
    "phone",
    "email",
    "website",
    "city",
    "postal_code",
    "online_presence",
    "is_customer",
)


def with_summaries(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """Each lead with its company (`listed_company`), its assignee (`listed_assignee`) and
    its tags by name (`listed_tags`, a list) as JSON objects (the company's of
    `LISTED_COMPANY_FIELDS`, the assignee's of `User.SUMMARY_FIELDS`, each tag's of
    `LISTED_TAG_FIELDS`), read in the lead query itself (smartweb.listing). The company
    and the tags are the lead's own columns, kept by the database from the company and
    the tag links (their sub-selects took ~0.7 and ~0.55 ms of a page of 50 at 1M leads,
    ADRs 0037 and 0048); the assignee is an index look-up of the user by id. SQL rather
    than ORM subqueries, whose building and compiling took ~3 ms a request; JSON rather
    than models, which cost more to build than to serialize (bench/README.md)."""
    return leads.annotate(
        listed_company=listing.listed(listing.kept_column(Lead, "listed_company"), []),
        listed_assignee=listing.listed(listing.user_summary(Lead, "assigned_to"), []),
        listed_tags=listing.listed(listing.kept_column(Lead, "listed_tags"), []),
    )


def with_creator(interactions: QuerySet[Interaction]) -> QuerySet[Interaction]:
    """Each interaction with the user who logged it as JSON (`listed_creator`, the user
    summary), read in the interaction query by id instead of a user model per row."""
    return interactions.annotate(
        listed_creator=listing.listed(listing.user_summary(Interaction, "created_by"), [])
    )


def organization_members() -> QuerySet[User]:
    """Active users with an active membership of the current organization: whom leads
    may be assigned to (users are global rows; never offer `User.objects`)."""
    return User.objects.filter(
        is_active=True,
        memberships__organization_id=current_organization_id(),
        memberships__is_active=True,
        memberships__deleted_at__isnull=True,
    )


def _engagement_filters(now: dt.datetime) -> tuple[Q, Q]:
    since = now - dt.timedelta(days=ENGAGEMENT_WINDOW_DAYS)
    recent = Q(
        interactions__deleted_at__isnull=True,
        interactions__occurred_at__gte=since,
    ) & ~Q(interactions__type=InteractionType.NOTE)
    positive = recent & Q(interactions__outcome__in=POSITIVE_OUTCOMES)
    return recent, positive


def with_engagement(queryset: QuerySet[Lead], *, now: dt.datetime | None = None) -> QuerySet:
    """Annotate leads with the engagement the score needs, in the same query."""
    recent, positive = _engagement_filters(now or timezone.now())
    return queryset.annotate(
        recent_interactions=Count("interactions", filter=recent),
        positive_outcomes=Count("interactions", filter=positive),
    )


def engagement_of(lead: Lead, *, now: dt.datetime | None = None) -> tuple[int, int]:
    since = (now or timezone.now()) - dt.timedelta(days=ENGAGEMENT_WINDOW_DAYS)
    counts = (
        Interaction.objects.filter(lead=lead, occurred_at__gte=since)
        .exclude(type=InteractionType.NOTE)
        .aggregate(
            recent=Count("id"),
            positive=Count("id", filter=Q(outcome__in=POSITIVE_OUTCOMES)),
        )
    )
    return counts["recent"], counts["positive"]


def keys_of(lead: Lead) -> dict[str, set[str]]:
    """The lead's de-duplication keys by kind (its company's and its contact's)."""
    company = lead.company
    values = {
        "company__phone_normalized": company.phone_normalized,
        "contact_phone_normalized": lead.contact_phone_normalized,
        "company__email_normalized": company.email_normalized,
        "contact_email_normalized": lead.contact_email_normalized,
        "company__website_domain": company.website_domain,
    }
    return {
        kind: {values[path] for path in paths if values[path]}
        for kind, paths in DUPLICATE_KEYS.items()
    }


COMPANY_PREFIX = "company__"


def duplicates_query(keys: dict[str, set[str]]) -> Q | None:
    """Leads with one of `keys`: their own contact keys, or their company's.

    The company's keys are looked up first, by the company indexes, and the leads then by
    company id: an OR across the lead and company columns of one join can use no index,
    so it read every lead and company of the organization (0.2 s a create in an
    organization of 13,000 leads, bench/import_write.py). Deleted companies count as the
    join counted them (a restored lead may have one), read apart by the deleted rows'
    index."""
    own, companies = Q(), Q()
    for kind, paths in DUPLICATE_KEYS.items():
        values = sorted(keys.get(kind, ()))
        for path in paths if values else ():
            if path.startswith(COMPANY_PREFIX):
                companies |= Q(**{f"{path.removeprefix(COMPANY_PREFIX)}__in": values})
            else:
                own |= Q(**{f"{path}__in": values})
    if companies:
        live = Company.objects.filter(companies).order_by().values_list("pk", flat=True)
        dead = Company.all_objects.dead().filter(companies).order_by().values_list("pk", flat=True)
        own |= Q(company_id__in=list(live.union(dead)))
    return own or None


@dataclass
class Duplicate:
    lead: Lead
    matched_on: list[str] = field(default_factory=list)


def duplicates_of(
    lead: Lead | None = None, *, keys: dict[str, set[str]] | None = None, queryset=None
) -> list[Duplicate]:
    """Active leads sharing a normalized phone, email or website domain with `lead`."""
    keys = keys if keys is not None else keys_of(lead)
    query = duplicates_query(keys)
    if query is None:
        return []
    candidates = (queryset if queryset is not None else Lead.objects.all()).filter(query)
    if lead is not None and lead.pk:
        candidates = candidates.exclude(pk=lead.pk)
    found = []
    for candidate in candidates.select_related("company", "assigned_to").order_by("created_at"):
        theirs = keys_of(candidate)
        matched = [kind for kind in DUPLICATE_KEYS if keys.get(kind, set()) & theirs[kind]]
        found.append(Duplicate(candidate, matched))
    return found


def companies_like(company: Company, *, limit: int = 5) -> list[Company]:
    """Live companies that may be `company` again: the same name (in any case), phone,
    email or website domain (its normalized keys, as `clean_company_fields` derives them)."""
    query = Q(name__iexact=company.name) if company.name else Q()
    for field_name in ("phone_normalized", "email_normalized", "website_domain"):
        if value := getattr(company, field_name):
            query |= Q(**{field_name: value})
    if not query:
        return []
    found = Company.objects.filter(query).defer("search_vector")
    if company.pk:
        found = found.exclude(pk=company.pk)
    return list(found.order_by("created_at")[:limit])


def duplicate_groups(queryset: QuerySet[Lead]) -> tuple[list[dict], bool]:
    """Groups of leads in `queryset` that share a key, and whether the list was cut.

    One query over the (already scoped) leads; the grouping is a union-find in Python,
    so a lead matching two others on different keys joins them into one group.
    """
    paths = [path for paths in DUPLICATE_KEYS.values() for path in paths]
    rows = queryset.order_by().values_list("id", *paths)
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_with_key: dict[tuple[str, str], object] = {}
    matched: dict = defaultdict(set)
    for lead_id, *values in rows:
        by_path = dict(zip(paths, values, strict=True))
        for kind, kind_paths in DUPLICATE_KEYS.items():
            for value in {by_path[p] for p in kind_paths if by_path[p]}:
                other = first_with_key.setdefault((kind, value), lead_id)
                if other != lead_id:
                    parent[find(lead_id)] = find(other)
                    matched[lead_id].add(kind)
                    matched[other].add(kind)
    members: dict = defaultdict(list)
    for lead_id in matched:
        members[find(lead_id)].append(lead_id)
    groups = sorted(members.values(), key=len, reverse=True)
    truncated = len(groups) > MAX_DUPLICATE_GROUPS
    groups = groups[:MAX_DUPLICATE_GROUPS]
    wanted = [lead_id for group in groups for lead_id in group]
    leads = queryset.filter(pk__in=wanted).select_related("company", "assigned_to").in_bulk()
    result = [
        {
            "leads": [leads[i] for i in group if i in leads],
            "matched_on": sorted(set().union(*(matched[i] for i in group))),
        }
        for group in groups
    ]
    return result, truncated


def with_readable_lead_counts(tags: QuerySet[Tag], user) -> QuerySet[Tag]:
    """Each tag with `active_leads`: how many of its leads outside the trash `user` may
    read (a rep their own, a manager their team's), not the organization's count, which
    told them about leads they may not see. One correlated count in the tags' query.

    Whoever reads every lead counts the tag's links less those of leads in the trash, from
    the links' index and the trash's: counting the leads looked each linked lead up to see
    that it is not in the trash (26,029 look-ups for the six tags of the largest
    organization at 1M leads, 41 ms)."""
    if access.scope_for(user, Action.READ, Resource.LEADS) == Scope.ALL:
        links = LeadTag.objects.filter(tag=OuterRef("pk"))
        trashed = Lead.all_objects.filter(deleted_at__isnull=False).values("pk")
        return tags.annotate(
            active_leads=_counted(links) - _counted(links.filter(lead__in=trashed))
        )
    leads = access.visible(user, Action.READ, Lead.objects.filter(tags=OuterRef("pk")))
    return tags.annotate(active_leads=_counted(leads))


def _counted(rows: QuerySet) -> Coalesce:
    """How many `rows` there are, as a correlated sub-select."""
    # COUNT as a plain function, not an aggregate: no GROUP BY in the sub-select.
    counted = rows.order_by().annotate(
        count=Func("pk", function="COUNT", output_field=IntegerField())
    )
    return Coalesce(Subquery(counted.values("count")), 0)
