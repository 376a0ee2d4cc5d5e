"""Query-string filters of the leads API (django-filter), full-text `search=` included.

References are plain UUID filters: a model-choice filter would build its queryset at
import time, outside any organization, and list every tenant's rows in browsable forms.

Search matches the maintained `search_vector` columns with `websearch_to_tsquery`
('simple' configuration: names and towns are not stemmed), and company names by
substring from three characters on (trigram-indexed). Under RLS PostgreSQL does not use a
non-LEAKPROOF operator such as `@@` as an index condition, so companies, leads and
interactions are searched through the SQL functions of `leads.search`, which use those
indexes for the current organization only (docs/decisions/0004-search-under-rls.md).
A search that reads as a phone number also finds the companies and leads with that number
however it is typed, as the admin's lists do (`leads.phone_search`).
"""

from __future__ import annotations

from collections.abc import Callable

import django_filters
from django.db.models import Exists, OuterRef, Q

from leads.choices import (
    BusinessType,
    CompanySize,
    Direction,
    InteractionType,
    LeadSource,
    LeadStatus,
    Outcome,
    WebsiteStatus,
)
from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag, Tag
from leads.phone_search import companies_with, ids_of, leads_with, typed_phones
from leads.search import company_matches, interaction_matches, lead_matches
from smartweb import index_walks
from smartweb.api.filters import (
    ChangedFilterSet,
    FilterSet,
    IntegerFilter,
    MultipleChoiceFilter,
    SearchFilterSet,
)


class UUIDInFilter(django_filters.BaseInFilter, django_filters.UUIDFilter):
    """`?tags=<uuid>,<uuid>`"""


def _or_by_phone(model, matches: Callable[[str], Q], with_phones: Callable[[set], list]):
    """`matches`, and the rows `with_phones` the number the text may be (one union of ids:
    or'ed in the list's query, they would read every row of the organization)."""

    def search(value: str) -> Q:
        phones = typed_phones(value)
        if not phones:
            return matches(value)
        return Q(pk__in=ids_of([model.objects.filter(matches(value)), *with_phones(phones)]))

    return search


class CompanyFilter(ChangedFilterSet, SearchFilterSet):
    matches = staticmethod(_or_by_phone(Company, company_matches, companies_with))
    business_type = MultipleChoiceFilter(choices=BusinessType.choices)
    size = MultipleChoiceFilter(choices=CompanySize.choices)
    website_status = django_filters.ChoiceFilter(
        choices=WebsiteStatus.choices, field_name="online_presence__website_status"
    )
    city = django_filters.CharFilter(method="filter_city")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Company
        fields = ["is_customer", "country"]

    def filter_city(self, queryset, name, value: str):
        # The organization's spellings of the city, then those by `company_org_city`:
        # `city__iexact` read every company of the organization (docs/decisions/0057, amended).
        cities = Company.objects.values("city")
        return queryset.filter(city__in=index_walks.spellings(cities, value))


class LeadFilter(ChangedFilterSet, SearchFilterSet):
    matches = staticmethod(_or_by_phone(Lead, lead_matches, leads_with))
    status = MultipleChoiceFilter(choices=LeadStatus.choices)
    source = MultipleChoiceFilter(choices=LeadSource.choices)
    business_type = MultipleChoiceFilter(
        choices=BusinessType.choices, field_name="company__business_type"
    )
    score_min = IntegerFilter(
        field_name="lead_score", lookup_expr="gte", min_value=0, max_value=100
    )
    score_max = IntegerFilter(
        field_name="lead_score", lookup_expr="lte", min_value=0, max_value=100
    )
    assigned_to = django_filters.UUIDFilter(field_name="assigned_to")
    unassigned = django_filters.BooleanFilter(field_name="assigned_to", lookup_expr="isnull")
    tags = UUIDInFilter(method="filter_tags", help_text="Leads with any of these tag ids.")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    last_contacted_after = django_filters.IsoDateTimeFilter(
        field_name="last_contacted_at", lookup_expr="gte"
    )
    last_contacted_before = django_filters.IsoDateTimeFilter(
        field_name="last_contacted_at", lookup_expr="lt"
    )
    follow_up_before = django_filters.IsoDateTimeFilter(
        field_name="next_follow_up_at", lookup_expr="lt"
    )
    is_customer = django_filters.BooleanFilter(field_name="company__is_customer")
    company = django_filters.UUIDFilter(field_name="company")

    class Meta:
        model = Lead
        fields = ["do_not_contact", "consent_to_contact"]

    def filter_tags(self, queryset, name, value):
        # EXISTS rather than a join: no duplicate rows, no DISTINCT.
        return queryset.filter(
            Exists(LeadTag.objects.filter(lead=OuterRef("pk"), tag_id__in=value))
        )


class InteractionFilter(SearchFilterSet):
    matches = staticmethod(interaction_matches)
    type = MultipleChoiceFilter(choices=InteractionType.choices)
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    outcome = MultipleChoiceFilter(choices=Outcome.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    # Served by the BRIN index on created_at (interactions are appended in time order).
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    lead = django_filters.UUIDFilter(field_name="lead")
    created_by = django_filters.UUIDFilter(field_name="created_by")

    class Meta:
        model = Interaction
        fields = ["lead", "created_by"]


class EnrichmentFilter(FilterSet):
    lead = django_filters.UUIDFilter(field_name="lead")

    class Meta:
        model = LeadEnrichment
        fields = ["lead", "provider"]


class TagFilter(FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Tag
        fields = ["name"]
