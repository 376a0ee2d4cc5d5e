"""The admin's list parameters in a saved view's vocabulary (the API's), and back.

A view saved from an admin list keeps what the API can say: each of the list's filters
has its API parameter (`status__exact=new` is `status=new`, the assignee filter's
`assignee=none` is `unassigned=true`), `q` is `search`, and `o` (columns by position)
is `ordering`. Opening a view translates back: to the admin's own filter where it has
one (so the filter shows as chosen), else to the field lookup the API filter makes,
when the admin allows that lookup. What has no counterpart is named, not kept silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR
from django.contrib.admin.views.main import ALL_VAR, ERROR_FLAG, ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.http import QueryDict

from savedviews.models import ViewResource
from savedviews.vocabulary import ORDERING, SEARCH, vocabulary
from smartweb.admin import DeletedListFilter, column_ordering

# Paging and popups are how a list is looked at, not what it lists.
NOT_A_FILTER = {PAGE_VAR, ALL_VAR, ERROR_FLAG, IS_POPUP_VAR, TO_FIELD_VAR}
# The trash filter's default, active rows, is what the API lists: no filter. Its deleted
# rows the API lists nowhere, so a view of them is named among what is not kept.
STATE = (DeletedListFilter.parameter_name, DeletedListFilter.default)
TRUE, FALSE = "true", "false"
ADMIN_BOOLEAN = {TRUE: "1", FALSE: "0"}
API_BOOLEAN = {admin: api for api, admin in ADMIN_BOOLEAN.items()}


@dataclass(frozen=True)
class AdminFilters:
    """One admin list's filters: `plain` admin parameter -> API parameter (same values,
    booleans aside), and `special` ones, translated by a pair of functions (admin value
    -> API parameters, and API query -> admin value or None)."""

    plain: dict[str, str]
    booleans: frozenset[str] = frozenset()
    special: dict[str, tuple[Callable, Callable]] = field(default_factory=dict)


SCORE_BANDS = {"hot": ("70", "100"), "warm": ("40", "69"), "cold": ("0", "39")}


def _score_to_api(value: str) -> dict[str, list[str]]:
    low, high = SCORE_BANDS.get(value, (None, None))
    return {"score_min": [low], "score_max": [high]} if low else {}


def _score_to_admin(query: dict) -> tuple[str | None, set[str]]:
    band = (query.get("score_min", [None])[0], query.get("score_max", [None])[0])
    for name, bounds in SCORE_BANDS.items():
        if band == bounds:
            return name, {"score_min", "score_max"}
    return None, set()


def _assignee_to_api(value: str) -> dict[str, list[str]]:
    return {"unassigned": [TRUE]} if value == "none" else {"assigned_to": [value]}


def _assignee_to_admin(query: dict) -> tuple[str | None, set[str]]:
    if query.get("unassigned") == [TRUE]:
        return "none", {"unassigned"}
    if len(query.get("assigned_to", [])) == 1:
        return query["assigned_to"][0], {"assigned_to"}
    return None, set()


FILTERS = {
    ViewResource.LEADS: AdminFilters(
        plain={
            "status__exact": "status",
            "source__exact": "source",
            "company__business_type__exact": "business_type",
            "tags__id__exact": "tags",
            "do_not_contact__exact": "do_not_contact",
        },
        booleans=frozenset({"do_not_contact__exact"}),
        special={
            "score": (_score_to_api, _score_to_admin),
            "assignee": (_assignee_to_api, _assignee_to_admin),
        },
    ),
    ViewResource.OPPORTUNITIES: AdminFilters(
        plain={
            "status__exact": "status",
            "pipeline__id__exact": "pipeline",
            "stage__id__exact": "stage",
            "owner__id__exact": "owner",
        }
    ),
    ViewResource.TASKS: AdminFilters(
        plain={
            "status__exact": "status",
            "type__exact": "type",
            "priority__exact": "priority",
            "assigned_to__id__exact": "assigned_to",
        }
    ),
}


def _columns(model_admin, request) -> list[str]:
    """The list's columns as the admin numbers them in `o` (the checkbox first), read
    once per request: the actions' permission checks would be repeated for every view
    of a "Views" box."""
    known = request.__dict__.setdefault("_saved_view_columns", {})
    if model_admin not in known:
        columns = list(model_admin.get_list_display(request))
        if model_admin.get_actions(request):
            columns.insert(0, "action_checkbox")
        known[model_admin] = columns
    return known[model_admin]


def _sorted_by(model_admin, name: str) -> str | None:
    """The field sorting by a column sorts by (an expression has no API name)."""
    ordering = column_ordering(model_admin, name)
    return ordering if isinstance(ordering, str) else None


def _ordering_to_api(value: str, model_admin, request, resource) -> tuple[list[str], bool]:
    columns = _columns(model_admin, request)
    known = vocabulary(resource).ordering_fields
    terms, lost = [], False
    for part in value.split("."):
        descending, index = part.startswith("-"), part.lstrip("-")
        if not index.isdigit() or int(index) >= len(columns):
            lost = True
            continue
        name = _sorted_by(model_admin, columns[int(index)])
        if name in known:
            terms.append(f"-{name}" if descending else name)
        else:
            lost = True
    return terms, lost


def _ordering_to_admin(terms: list[str], model_admin, request) -> tuple[str, bool]:
    columns = _columns(model_admin, request)
    positions = {_sorted_by(model_admin, column): i for i, column in enumerate(columns)}
    parts, lost = [], False
    for term in ",".join(terms).split(","):
        name = term.removeprefix("-")
        if name in positions and positions[name] is not None:
            parts.append(f"{'-' if term.startswith('-') else ''}{positions[name]}")
        elif term:
            lost = True
    return ".".join(parts), lost


def from_admin(resource: str, params: QueryDict, model_admin, request):
    """(query, names of the admin's parameters the view cannot keep)."""
    filters = FILTERS[ViewResource(resource)]
    query: dict[str, list[str]] = {}
    lost: list[str] = []
    for name in params:
        value = params.get(name)
        if name in NOT_A_FILTER or value in (None, "") or (name, value) == STATE:
            continue
        if name == SEARCH_VAR:
            query[SEARCH] = [value]
        elif name == ORDER_VAR:
            terms, dropped = _ordering_to_api(value, model_admin, request, resource)
            if terms:
                query[ORDERING] = [",".join(terms)]
            if dropped:
                lost.append("ordering")
        elif name in filters.plain:
            if name in filters.booleans:
                value = API_BOOLEAN.get(value, value)
            query[filters.plain[name]] = [value]
        elif name in filters.special:
            query.update(filters.special[name][0](value))
        else:
            lost.append(name)
    return query, lost


def to_admin(resource: str, query: dict[str, list[str]], model_admin, request):
    """(the admin list's query string for the view, API parameters it cannot show)."""
    filters = FILTERS[ViewResource(resource)]
    params = QueryDict(mutable=True)
    done: set[str] = set()
    for name, (_, back) in filters.special.items():
        value, used = back(query)
        if value is not None:
            params[name] = value
            done |= used
    to_plain = {api: admin for admin, api in filters.plain.items()}
    lost: list[str] = []
    for name, values in query.items():
        if name in done:
            continue
        if name == SEARCH:
            params[SEARCH_VAR] = values[0]
        elif name == ORDERING:
            order, dropped = _ordering_to_admin(values, model_admin, request)
            if order:
                params[ORDER_VAR] = order
            if dropped:
                lost.append(name)
        elif name in to_plain and len(values) == 1:
            admin_name = to_plain[name]
            value = values[0]
            params[admin_name] = (
                ADMIN_BOOLEAN.get(value, value) if admin_name in filters.booleans else value
            )
        elif not _as_lookup(resource, name, values, params, model_admin, request):
            lost.append(name)
    return params.urlencode(), lost


def _as_lookup(resource, name, values, params, model_admin, request) -> bool:
    """The API filter's own field lookup (`value_min` is `value__gte`), where the admin
    allows it; several values of a choice as `__in`."""
    api_filter = vocabulary(resource).filters.get(name)
    if api_filter is None or getattr(api_filter, "method", None):
        return False
    lookup = "in" if len(values) > 1 else api_filter.lookup_expr
    key = f"{api_filter.field_name}__{lookup}"
    value = ",".join(values)
    if lookup == "isnull" or values[0] in ADMIN_BOOLEAN:
        value = ADMIN_BOOLEAN.get(values[0], values[0])
    if not model_admin.lookup_allowed(key, value, request):
        return False
    params[key] = value
    return True
