import functools

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, Window
from django.utils.functional import cached_property
from rest_framework.pagination import CursorPagination, PageNumberPagination

from smartweb.api.parameters import whole_number


class StrictPageSizeMixin:
    """`page_size` is a whole number from 1 (DRF silently lists a default page for any
    other value); a larger one than `max_page_size` lists that many."""

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return min(whole_number(raw, self.page_size_query_param, 1), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Rows per page, {self.page_size} by default, at most {self.max_page_size}."
                )
        return parameters


class LargeListCursorPagination(StrictPageSizeMixin, CursorPagination):
    """For lists that grow to millions of rows: no COUNT(*), stable under inserts."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"


class CappedCountPaginator(Paginator):
    """Counts at most `COUNT_CAP` + 1 rows: the count index-scans a bounded range instead
    of a large organization's every matching row on every page. It counts ids alone: the
    list's joins and JSON sub-selects would only lengthen its planning."""

    COUNT_CAP = 10_000

    def __init__(self, *args, counted: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.counted = counted  # the rows' number, when the view knows it (a rollup)

    @cached_property
    def count(self) -> int:
        if self.counted is not None:
            return min(self.counted, self.COUNT_CAP)
        ids = self.object_list.order_by().values("pk")
        return min(ids[: self.COUNT_CAP + 1].count(), self.COUNT_CAP)

    @property
    def count_capped(self) -> bool:
        return self.count >= self.COUNT_CAP


class SearchPaginator(CappedCountPaginator):
    """A search's page statement carries the number of matches (`COUNT(*) OVER ()`): the
    matches are found once, not once for the count and again for the page. Finding them
    is the costly part of a search (leads.search: 2-3 ms for a name in the largest
    organization at 1M leads; the opportunities' name filter reads all of theirs). The
    count is exact; an empty page past the first is out of range."""

    exact = False  # the count was read with the page
    # Past any real number of matches, and keeps the OFFSET within PostgreSQL's bigint.
    MAX_PAGE = 10**9

    def page(self, number):
        if self.object_list.query.distinct:  # the window would count rows DISTINCT drops
            return super().page(number)
        try:
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if number > self.MAX_PAGE:
            raise EmptyPage(self.error_messages["no_results"])
        bottom = (number - 1) * self.per_page
        with_total = self.object_list.annotate(listed_total=Window(Count("*")))
        rows = list(with_total[bottom : bottom + self.per_page])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        self.count = rows[0].listed_total if rows else 0
        self.exact = True
        return self._get_page(rows, number, self)

    @property
    def count_capped(self) -> bool:
        return not self.exact and super().count_capped


class StandardPagination(StrictPageSizeMixin, PageNumberPagination):
    """Page numbers; a search (`?search=`) is counted with its page (SearchPaginator)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get("search"):
            self.django_paginator_class = SearchPaginator
        return super().paginate_queryset(queryset, request, view)


class CappedCountPagination(StandardPagination):
    """Page numbers for lists that grow large (leads, companies): `count` is exact up to
    10,000 and `count_capped` says when there are more (narrow the filter, or search).
    A search (`?search=`) is counted with its page (StandardPagination); a view with a
    `counted_rows()` that knows the number (the leads' rollup) is not counted again."""

    django_paginator_class = CappedCountPaginator

    def paginate_queryset(self, queryset, request, view=None):
        # A view that can count its filtered rows more cheaply says so (`counted_rows`,
        # None when it cannot); the count and the pages it allows are capped the same.
        counted = getattr(view, "counted_rows", None)
        self.django_paginator_class = functools.partial(
            CappedCountPaginator, counted=counted() if counted is not None else None
        )
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_capped"] = self.page.paginator.count_capped
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count_capped"] = {"type": "boolean"}
        return schema
