import contextlib
import datetime as dt
import functools

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, IntegerField, QuerySet, Sum, Window
from django.db.models.expressions import RawSQL
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination

from smartweb import listing
from smartweb.api.parameters import DIGITS, whole_number


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
    """For lists that grow to millions of rows: no COUNT(*), stable under inserts.

    A cursor is the list's own link, which a client can still alter: one that is not
    base64, or whose position is no value of the ordering's field, is a 400 naming
    `cursor`. A date time position is read in UTC, as the filters read theirs: PostgreSQL
    refuses an offset past ±15:59 that Python reads (a server error before)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-created_at"
    invalid_cursor_message = "Not a cursor of this list: follow its `next` or `previous` link."

    def paginate_queryset(self, queryset, request, view=None):
        self._position_field = None
        ordering = self.get_ordering(request, queryset, view)
        with contextlib.suppress(FieldDoesNotExist):
            self._position_field = queryset.model._meta.get_field(ordering[0].lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise self._invalid() from exc
        if cursor is None or cursor.position is None or self._position_field is None:
            return cursor
        try:
            value = self._position_field.to_python(cursor.position)
            if isinstance(value, dt.datetime):
                aware = value.tzinfo is not None
                value = value.astimezone(dt.UTC) if aware else value.replace(tzinfo=dt.UTC)
        except (DjangoValidationError, OverflowError, ValueError) as exc:
            raise self._invalid() from exc
        position = value.isoformat() if isinstance(value, dt.datetime) else cursor.position
        return cursor._replace(position=position)

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})


class PageWithCountPaginator(Paginator):
    """Reads a page and the number of its list's rows in one statement: the page's rows
    carry the count (`listed_total`), read by a sub-select that PostgreSQL runs once (an
    uncorrelated sub-plan). Counting by a statement of its own cost a round trip and the
    building of another ORM query per list request (bench/README.md). The count is the
    statement the count alone would run. A page past the last is out of range, as
    Django's `validate_number` has it; an empty page past the first is too, without a
    count (it cannot lie within a list it is past the end of). A DISTINCT list (the
    rows' count is not the page's), a list that is not a queryset, a query that cannot
    match and a count already known take Django's way: the count, then the page."""

    MAX_PAGE = 10**9  # past any real number of rows; keeps the OFFSET within bigint

    def count_with_page(self):
        """The expression the page's rows carry the count in; None: count on its own."""
        return _counted(self.object_list.order_by().values("pk"))

    def counted(self, total: int) -> int:
        """The count the list shows of the total its page read."""
        return total

    def page(self, number):
        listed = self.object_list
        if not isinstance(listed, QuerySet) or listed.query.distinct or "count" in vars(self):
            return super().page(number)
        try:
            total = self.count_with_page()
        except EmptyResultSet:  # a filter that matches nothing: Django counts 0 unasked
            total = None
        if total is None:
            return super().page(number)
        number = self._whole_page_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list.annotate(listed_total=total)[bottom : bottom + self.per_page])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        self.count = self.counted(rows[0].listed_total) if rows else 0
        if number > self.num_pages:  # past a capped count's last page
            raise EmptyPage(self.error_messages["no_results"])
        return self._get_page(rows, number, self)

    def _whole_page_number(self, number) -> int:
        """Django's checks of a page number that need no count."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if number > self.MAX_PAGE:
            raise EmptyPage(self.error_messages["no_results"])
        return number


def _counted(ids) -> RawSQL:
    """`SELECT count(*)` of the rows of the queryset `ids`, as a sub-select (SQL compiled
    by Django from the queryset, its values parameters)."""
    return _over(ids, "count(*)")


def _summed(rows) -> RawSQL:
    """The sum of the one column of the values queryset `rows` (0 for none), as a
    sub-select."""
    return _over(rows, "coalesce(sum(n), 0)")


def _over(rows, aggregate: str) -> RawSQL:
    sql, params = rows.query.sql_with_params()
    sub_select = f"SELECT {aggregate} FROM ({sql}) counted(n)"
    return listing.listed(sub_select, list(params), IntegerField())


class CappedCountPaginator(PageWithCountPaginator):
    """Counts at most `COUNT_CAP` + 1 rows: the count index-scans a bounded range instead
    of a large organization's every matching row on every page. It counts ids alone: the
    list's joins and JSON sub-selects would only lengthen its planning. A view that
    knows rows whose one column adds up to the count (the lead rollup's) gives them as
    `counted_rows`: summed, within the same cap."""

    COUNT_CAP = 10_000

    def __init__(self, *args, counted_rows: QuerySet | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.counted_rows = counted_rows

    def count_with_page(self):
        if self.counted_rows is not None:
            return _summed(self.counted_rows)
        return _counted(self.object_list.order_by().values("pk")[: self.COUNT_CAP + 1])

    def counted(self, total: int) -> int:
        return min(total, self.COUNT_CAP)

    @cached_property
    def count(self) -> int:
        if self.counted_rows is not None:
            (column,) = self.counted_rows.query.values_select
            total = self.counted_rows.aggregate(total=Sum(column))["total"] or 0
        else:
            ids = self.object_list.order_by().values("pk")[: self.COUNT_CAP + 1]
            total = ids.count()
        return self.counted(total)

    @property
    def count_capped(self) -> bool:
        return self.count >= self.COUNT_CAP


class SearchPaginator(CappedCountPaginator):
    """A search's page carries the number of matches (`COUNT(*) OVER ()`): the matches
    are found once, not once for the count and again for the page. Finding them is the
    costly part of a search (leads.search: 2-3 ms for a name in the largest organization
    at 1M leads; the opportunities' name filter reads all of theirs). The count is
    exact."""

    exact = False  # the count was read with the page

    def count_with_page(self):
        self.exact = True
        return Window(Count("*"))

    def counted(self, total: int) -> int:
        return total

    @property
    def count_capped(self) -> bool:
        return not self.exact and super().count_capped


class StandardPagination(StrictPageSizeMixin, PageNumberPagination):
    """Page numbers, the count read with the page; a search (`?search=`) counted by a
    window over its matches (SearchPaginator)."""

    django_paginator_class = PageWithCountPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get("search"):
            self.django_paginator_class = SearchPaginator
        return super().paginate_queryset(queryset, request, view)

    def get_page_number(self, request, paginator):
        # DRF reads an empty `page=` as page 1 and Django's paginator reads " 2" as 2:
        # a page is digits or `last`, anything else is no page of this list.
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings and not DIGITS.fullmatch(raw):
            raise NotFound(self.invalid_page_message)
        return super().get_page_number(request, paginator)


class CappedCountPagination(StandardPagination):
    """Page numbers for lists that grow large (leads, companies): `count` is exact up to
    10,000 and `count_capped` says when there are more (narrow the filter, or search).
    A search (`?search=`) is counted with its page (StandardPagination); a view with a
    `counted_rows()` that can count more cheaply (the leads' rollup) counts by those."""

    django_paginator_class = CappedCountPaginator

    def paginate_queryset(self, queryset, request, view=None):
        # A view that can count its filtered rows more cheaply says so (`counted_rows`:
        # rows whose one column adds up to the count, None when it cannot); the count and
        # the pages it allows are capped the same.
        counted = getattr(view, "counted_rows", None)
        self.django_paginator_class = functools.partial(
            CappedCountPaginator, counted_rows=counted() if counted is not None else None
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
