"""The version a change form of the admin was opened on (ADR 0012): carried in a hidden
field, compared with the row's under its lock when the form is saved, and a save made
after someone else changed the row refused with what changed since. An inline's rows
carry theirs too (ADR 0049): a row changed since the page was opened is refused the
same way, one deleted since is named, and nothing of the page is saved."""

from __future__ import annotations

from django import forms
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import ValidationError

from smartweb.errors import Refusal
from smartweb.models import stored_rows
from smartweb.versioning import changes_since, is_versioned, locked_version, version_of

# The hidden field of a change form that carries the version of the row it shows.
VERSION_FIELD = "_version"


class VersionField(forms.CharField):
    """The version a form was opened on: carried along, never a change of the row."""

    widget = forms.HiddenInput

    def has_changed(self, initial, data) -> bool:
        return False


def versioned(
    form_class: type[forms.BaseModelForm], *, changed_only: bool = False
) -> type[forms.BaseModelForm]:
    """The change form with the version of the row it was opened on: a save made after
    someone else changed the row is refused, the form shown again with its input and what
    changed since (saving again then overwrites, knowingly). `changed_only`: the form of
    an inline's row, checked when it changes the row (a row left as it is loses nothing)
    and not for a new row."""

    class VersionedForm(form_class):
        _version = VersionField(required=False)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if not self.instance._state.adding:
                self.fields[VERSION_FIELD].initial = version_of(self.instance.updated_at)

        def clean(self):
            cleaned = super().clean()
            if self.instance._state.adding or (changed_only and not self.has_changed()):
                return cleaned
            sent = cleaned.get(VERSION_FIELD)
            current = locked_version(type(self.instance), self.instance.pk)
            if sent and current and sent != current:
                deleted = deleted_row(type(self.instance), self.instance.pk)
                if deleted is not None:
                    raise Refusal(deleted_message(deleted))
                self.data = self.data.copy()
                self.data[self.add_prefix(VERSION_FIELD)] = current
                raise ValidationError(stale_message(self.instance, sent))
            return cleaned

    VersionedForm.__name__ = form_class.__name__
    return VersionedForm


def deleted_row(model, pk):
    """The row as stored, if it is soft-deleted by now."""
    if not any(field.name == "deleted_at" for field in model._meta.concrete_fields):
        return None
    return (
        stored_rows(model)
        .select_related("deleted_by")
        .filter(pk=pk, deleted_at__isnull=False)
        .first()
    )


def deleted_message(row) -> str:
    by = f" by {row.deleted_by}" if row.deleted_by else ""
    return f"This {row._meta.verbose_name} was deleted{by} since you opened it: nothing was saved."


def stale_message(instance, version: str) -> str:
    return (
        f"This {instance._meta.verbose_name} was changed{_what_changed(instance, version)}."
        " Your input is kept below: check it, and save again to replace those changes."
    )


def closed_message(instance, version: str) -> str:
    """A row changed since its form was opened into a state its page no longer lets
    anyone change (a contract signed, a proposal sent)."""
    return (
        f"This {instance._meta.verbose_name} was changed{_what_changed(instance, version)},"
        " and can no longer be changed here: nothing was saved."
    )


def _what_changed(instance, version: str) -> str:
    """by whom since you opened it: what is now what (from the history)."""
    changes, users = changes_since(instance, version)
    who = f" by {', '.join(users)}" if users else ""
    what = "; ".join(f"{field} is now “{value}”" for field, value in changes)
    return f"{who} since you opened it{': ' + what if what else ''}"


class RowsDeletedMeanwhileMixin:
    """An inline formset that names the rows its page showed and that are gone by the
    time it is saved (Django's formset only marks their hidden id as an invalid choice,
    an error no one sees)."""

    def clean(self):
        super().clean()
        gone = sum(1 for form in self.initial_forms if form.instance._state.adding)
        if gone:
            meta = self.model._meta
            rows = f"A {meta.verbose_name} shown on this page was"
            if gone > 1:
                rows = f"{gone} {meta.verbose_name_plural} shown on this page were"
            raise ValidationError(
                f"{rows} deleted since you opened it: nothing was saved. Reload the page to"
                f" see the {meta.verbose_name_plural} as they are now."
            )


class VersionedRowsInlineMixin:
    """An inline whose rows carry their versions (`versioned(changed_only=True)`), and
    whose rows deleted since the page was opened are named (`RowsDeletedMeanwhileMixin`).
    The parent's version does not cover them: a stage renamed, a task completed elsewhere
    while the page was open was undone by its unchanged row."""

    def get_formset(self, request, obj=None, **kwargs):
        if "fields" not in kwargs:
            kwargs["fields"] = flatten_fieldsets(self.get_fieldsets(request, obj))
        if kwargs["fields"] is not None:  # the version is the form's own field
            kwargs["fields"] = [name for name in kwargs["fields"] if name != VERSION_FIELD]
        formset = super().get_formset(request, obj, **kwargs)
        if is_versioned(self.model):
            formset.form = versioned(formset.form, changed_only=True)
        return type(formset.__name__, (RowsDeletedMeanwhileMixin, formset), {})

    def get_fieldsets(self, request, obj=None):
        """Each row shows its version as a hidden field, where the rows can be changed
        (elsewhere the field would be shown as an empty column)."""
        fieldsets = super().get_fieldsets(request, obj)
        if (
            not is_versioned(self.model)
            or not self._rows_editable(request, obj)
            or VERSION_FIELD in flatten_fieldsets(fieldsets)
        ):
            return fieldsets
        *rest, (name, options) = fieldsets
        return [*rest, (name, {**options, "fields": [*options["fields"], VERSION_FIELD]})]

    def _rows_editable(self, request, obj) -> bool:
        """As Django decides it: the rows are edited where the parent is too."""
        if obj is None:
            return False  # a new parent's rows are all new
        parent = self.admin_site.get_model_admin(self.parent_model)
        return parent.has_change_permission(request, obj) and self.has_change_permission(
            request, obj
        )
