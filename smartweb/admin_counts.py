"""A long list of the back office counted as the API counts its long lists: up to a cap.

Django's list counts every row it filters on each page load, for "N interactions" and its
page links: the 660,868 active interactions of the largest organization at 1M leads,
26-45 ms a page (bench/README.md). An admin with `CappedCountMixin` counts at most
`CappedCountPaginator.COUNT_CAP` + 1 rows of them, as `/api/v1/` lists do, and says so:
"10000+ interactions", "10000+ results", "Select all 10000+ interactions"
(`templates/admin/pagination.html`, `search_form.html`, `actions.html`, on the
paginator's `count_capped`). Below the cap the count is exact, and the list the same.
"""

from __future__ import annotations

from django.contrib.admin.views.main import PAGE_VAR

from smartweb.api.pagination import CappedCountPaginator


def _page_asked(request) -> int:
    """The page number of a list's request, as Django's list reads it (the first when
    it is not a number)."""
    try:
        return int(request.GET.get(PAGE_VAR, 1))
    except ValueError:
        return 1


class CappedCountMixin:
    """Counts the list up to the cap. A page that reaches past the cap is counted exactly,
    as Django counts: every page stays reachable by its number and is listed whole (Django
    ends a page at the count), and only whoever pages past the first 10,000 rows pays for
    the whole count."""

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if _page_asked(request) * per_page > CappedCountPaginator.COUNT_CAP:
            return super().get_paginator(
                request, queryset, per_page, orphans, allow_empty_first_page
            )
        return CappedCountPaginator(queryset, per_page, orphans, allow_empty_first_page)
