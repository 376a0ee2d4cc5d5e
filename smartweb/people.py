"""People as the back office shows them: by name (the full name, the email only when a
person has none), in list columns, list filters, the choices of a person field, and a
change page's read-only person fields (smartweb.admin_links)."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, QuerySet


def person_name(user) -> str:
    return user.get_full_name()


def names_told_apart(users: Iterable, among: QuerySet) -> dict:
    """Each of `users`' names by id, with the email beside a name that two people of
    `among` (the organization's members) share: "Sam Patel (sam.p@…)"."""
    users = list(users)
    shared = set(
        among.filter(full_name__in={user.full_name for user in users if user.full_name})
        .order_by()
        .values("full_name")
        .annotate(people=Count("pk"))
        .filter(people__gt=1)
        .values_list("full_name", flat=True)
    )
    return {
        user.pk: f"{person_name(user)} ({user.email})"
        if user.full_name in shared
        else person_name(user)
        for user in users
    }


def is_person(row) -> bool:
    """Is `row` a user?"""
    return row._meta.label == settings.AUTH_USER_MODEL


def is_person_field(model, name: str) -> bool:
    """Is `name` a field of `model` that points to a user?"""
    try:
        field = model._meta.get_field(name)
    except (FieldDoesNotExist, TypeError):
        return False
    related = getattr(field, "related_model", None)
    return related is not None and related._meta.label == settings.AUTH_USER_MODEL


def person_column(model, name: str):
    """A list column showing the user in `model.name` by name, sorted as the field."""

    @admin.display(description=model._meta.get_field(name).verbose_name, ordering=name)
    def column(obj):
        person = getattr(obj, name)
        return person_name(person) if person is not None else None

    column.__name__ = name
    return column


def named_people(field: forms.ModelChoiceField) -> forms.ModelChoiceField:
    """The field's choices of people, each by name."""
    field.label_from_instance = person_name
    return field
