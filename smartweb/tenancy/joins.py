"""Joins and look-ups between tenant tables name the organization too (ADR 0035).

A distributed planner routes a statement to one shard when each tenant table in it is
compared on `organization_id`; Django joins on `id` alone. So each foreign key between two
tenant models adds `joined.organization_id = joining.organization_id` to its joins (both
directions, `select_related` and filters across relations alike), and fetching the
related row (`lead.company`, or prefetching it for a page of rows, which Django does by
`id IN (...)`) filters on the rows' organization. Always true given the composite foreign
keys, so no answer changes; the planner may also use it.

Set on the field instances when the apps are ready, so that the models' migrations and
`makemigrations` see the plain `ForeignKey` they declare.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import ForeignKey, QuerySet
from django.db.models.expressions import Col
from django.db.models.lookups import Exact

from smartweb.tenancy.operations import is_tenant_model


def _tenant_foreign_keys():
    for model in apps.get_models(include_auto_created=True):
        if not is_tenant_model(model):
            continue
        for field in model._meta.local_fields:
            if (
                isinstance(field, ForeignKey)
                and field.name != "organization"
                and is_tenant_model(field.related_model)
            ):
                yield field


def _route_by_organization(field: ForeignKey) -> None:
    own = field.model._meta.get_field("organization")
    target = field.related_model._meta.get_field("organization")

    def get_extra_restriction(alias, related_alias):
        # `alias` is the target's table, `related_alias` this model's (the reverse
        # relation swaps them back); None when Django pushes a join into a subquery.
        if alias is None or related_alias is None:
            return None
        return Exact(Col(alias, target), Col(related_alias, own))

    def get_extra_descriptor_filter(instance):
        organization_id = getattr(instance, own.attname, None)
        return {target.attname: organization_id} if organization_id is not None else {}

    field.get_extra_restriction = get_extra_restriction
    field.get_extra_descriptor_filter = get_extra_descriptor_filter

    forward = getattr(field.model, field.name)
    prefetch = forward.get_prefetch_querysets

    def get_prefetch_querysets(instances, querysets=None):
        # Read without loading: a row fetched without its organization (`only()`) would
        # cost a query each; its related rows are then fetched by id alone, as before.
        organizations = {instance.__dict__.get(own.attname) for instance in instances} - {None}
        if organizations:
            querysets = [
                queryset.filter(**{f"{target.attname}__in": organizations})
                for queryset in querysets or [forward.get_queryset()]
            ]
        return prefetch(instances, querysets)

    forward.get_prefetch_querysets = get_prefetch_querysets


def of_organization(rows: QuerySet, organization_id) -> QuerySet:
    """`rows` restricted to `organization_id` when their model is a tenant model and the
    organization is known: a look-up a database sharded by organization routes to one
    shard. RLS answers the same."""
    if organization_id is None or not is_tenant_model(rows.model):
        return rows
    return rows.filter(organization_id=organization_id)


def install() -> None:
    for field in _tenant_foreign_keys():
        _route_by_organization(field)
