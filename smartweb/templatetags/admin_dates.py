"""`{% indexed_date_hierarchy cl %}`: Django's date hierarchy (its links, its parameters
`occurred_at__year=` and so on, its template), whose years, months or days are found by
walking an index (`index_walks.bucket_starts`) on a list whose admin walks them
(`TenantModelAdmin.walks_date_hierarchy`): Django reads every row of the list for them,
the whole organization's for its years (90 ms for the largest organization's interactions
at 1M leads), a year's rows for its months."""

from __future__ import annotations

import copy

from django import template
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.base import InclusionAdminNode

from smartweb import index_walks

register = template.Library()


class _WalkedDates:
    """A list's rows as Django's date hierarchy reads them: their first and last date by
    Django's aggregate (two index look-ups), their buckets by a walk."""

    def __init__(self, rows):
        self.rows = rows

    def aggregate(self, **aggregates):
        return self.rows.aggregate(**aggregates)

    def datetimes(self, field_name, kind):
        return index_walks.bucket_starts(self.rows.values_list(field_name), kind)


def indexed_date_hierarchy(cl):
    if getattr(cl, "walks_dates", False):
        cl = copy.copy(cl)
        cl.queryset = _WalkedDates(cl.queryset)
    return admin_list.date_hierarchy(cl)


@register.tag(name="indexed_date_hierarchy")
def indexed_date_hierarchy_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=indexed_date_hierarchy,
        template_name="date_hierarchy.html",
        takes_context=False,
    )
