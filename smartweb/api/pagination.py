from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import CursorPagination, PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class LargeListCursorPagination(CursorPagination):
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

    @cached_property
    def count(self) -> int:
        ids = self.object_list.order_by().values("pk")
        return min(ids[: self.COUNT_CAP + 1].count(), self.COUNT_CAP)


class CappedCountPagination(StandardPagination):
    """Page numbers for lists that grow large (leads, companies): `count` is exact up to
    10,000 and `count_capped` says when there are more (narrow the filter, or search)."""

    django_paginator_class = CappedCountPaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_capped"] = self.page.paginator.count >= CappedCountPaginator.COUNT_CAP
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count_capped"] = {"type": "boolean"}
        return schema
