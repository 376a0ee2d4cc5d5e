"""Filters shared by the API's filter sets."""

import django_filters


class MultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    """`?status=new&status=contacted`, without django-filter's default DISTINCT.

    The values are of one column of the listed table, so no row can repeat; a DISTINCT
    would stop the page from being read in index order and make the page count hash
    every matching row (measured in bench/README.md).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)
