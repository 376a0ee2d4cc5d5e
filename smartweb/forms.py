"""Form helpers shared by the apps' admin and forms."""

from __future__ import annotations

from collections.abc import Container

from django import forms


def form_changes(form: forms.BaseForm, names: Container[str] | None = None) -> dict:
    """The changed values of a bound form (only those in `names`, if given), for the
    update services."""
    return {
        name: form.cleaned_data[name]
        for name in form.changed_data
        if names is None or name in names
    }
