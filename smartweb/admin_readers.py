"""A row that an admin page names by a foreign key (a membership's role) is named only to
whoever may read it (`access.shown_to`), as a filter by that key offers only the rows its
reader may read (`smartweb.admin.ReadableRelatedFilter`): a sales rep reads the members
and their teams, not the roles, and was shown each member's role in the list's column, on
the membership's page and in its history. Mix `NamedToReadersMixin` into a tenant admin
(before it) and list the keys in `named_to_readers`."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from smartweb import access
from smartweb.rbac import Action


class NamedToReadersMixin:
    named_to_readers: tuple[str, ...] = ()

    def _reads_some(self, request, name: str) -> bool:
        related = self.model._meta.get_field(name).related_model
        return access.can(request.user, Action.READ, access.resource_of(related))

    def _unread(self, request, name: str, value) -> bool:
        """Would showing `value`, the row in `name`, name a row the user may not read?"""
        if name not in self.named_to_readers or value is None:
            return False
        if isinstance(value, models.Model):
            return access.shown_to(request.user, value) is None
        # A row deleted since, which a history page names by its id: the user's right
        # to read such rows at all decides.
        return not self._reads_some(request, name)

    def get_list_display(self, request):
        """The column of a key is left out for a user who may read none of its rows (as
        its filter is), and names each row where the user may read it."""
        columns = []
        for column in super().get_list_display(request):
            if column in self.named_to_readers:
                if not self._reads_some(request, column):
                    continue
                column = self._column(request, column)
            columns.append(column)
        return columns

    def _column(self, request, name: str):
        @admin.display(description=self.model._meta.get_field(name).verbose_name, ordering=name)
        def column(obj):
            return access.shown_to(request.user, getattr(obj, name))

        column.__name__ = name
        return column

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None:
            return fields
        return [
            name
            for name in fields
            if name not in self.named_to_readers
            or not self._unread(request, name, getattr(obj, name))
        ]

    def history_value_unread(self, request):
        return lambda name, value: self._unread(request, name, value)
