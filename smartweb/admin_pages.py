"""A list's page that does not exist leads to the nearest one that does, and says so.

Django answered a page past the last (an old link to a list that has shrunk since), or
one below 1, by reopening the list's first page under `?e=1`, and a page that is no
number with the first page, both without a word: the reader took page 1 for the page
they asked for. Every admin list is built by `PageShownChangeList` (`TenantChangeList`
is one) in an admin with `PageShownMixin` (`TenantModelAdmin` has it): such a page is
redirected to the last page for a number past it and to the first for any other, with
its filters, search and sorting, and a message naming both pages. Redirected, not shown
in its place: the links the page gives (a row's page, which leads back to the list; an
action's form, posted to the list) then carry the page shown.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.http import HttpResponseRedirect
from django.utils.text import Truncator

# A hostile page number is named in the message only so far.
NAMED_CHARS = 20


def _number(asked: str) -> int | None:
    """The page number as Django's list reads it, or None where it reads none."""
    try:
        return int(asked)
    except ValueError:
        return None


class PageMissing(Exception):
    """The page asked for does not exist: `url` is the list's page `shown` instead."""

    def __init__(self, changelist: ChangeList, request, asked: str, shown: int):
        number = _number(asked)
        named = Truncator(asked).chars(NAMED_CHARS)
        if number is None:
            named = f"“{named}”"
        which = "the last" if number is not None and number > shown else "the first"
        self.message = f"There is no page {named}: showing page {shown}, {which}."
        query = changelist.get_query_string({PAGE_VAR: shown if shown > 1 else None})
        self.url = request.path + query.removesuffix("?")
        super().__init__(self.message)


class PageShownChangeList(ChangeList):
    def get_results(self, request):
        asked = request.GET.get(PAGE_VAR)
        if asked is not None and _number(asked) is None:
            raise PageMissing(self, request, asked, 1)  # no query made: page 1, as Django
        try:
            super().get_results(request)
        except IncorrectLookupParameters as exc:
            # Raised here by the page alone (the filters are read before): out of range.
            # Counted again on this path only, as the list counts for its pages.
            shown = 1
            if self.page_num > 1:
                paginator = self.model_admin.get_paginator(
                    request, self.queryset, self.list_per_page
                )
                shown = paginator.num_pages
            raise PageMissing(self, request, asked, shown) from exc
        if asked is not None and not self.multi_page and self.page_num != 1:
            # A list of one page shows it whatever number was asked (its rows unread yet).
            raise PageMissing(self, request, asked, 1)


class PageShownMixin:
    """An admin whose list leads a page that does not exist to one that does. Its list
    is Django's own unless the admin builds another (`TenantChangeList`)."""

    def get_changelist(self, request, **kwargs):
        return PageShownChangeList

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except PageMissing as missing:
            messages.warning(request, missing.message)
            return HttpResponseRedirect(missing.url)
