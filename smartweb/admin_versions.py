"""The version a change form of the admin was opened on (ADR 0012): carried in a hidden
field, compared with the row's under its lock when the form is saved, and a save made
after someone else changed the row refused with what changed since."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from smartweb.versioning import changes_since, locked_version, version_of

# The hidden field of a change form that carries the version of the row it shows.
VERSION_FIELD = "_version"


class VersionField(forms.CharField):
    """The version a form was opened on: carried along, never a change of the row."""

    widget = forms.HiddenInput

    def has_changed(self, initial, data) -> bool:
        return False


def versioned(form_class: type[forms.BaseModelForm]) -> type[forms.BaseModelForm]:
    """The change form with the version of the row it was opened on: a save made after
    someone else changed the row is refused, the form shown again with its input and what
    changed since (saving again then overwrites, knowingly)."""

    class VersionedForm(form_class):
        _version = VersionField(required=False)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields[VERSION_FIELD].initial = version_of(self.instance.updated_at)

        def clean(self):
            cleaned = super().clean()
            sent = cleaned.get(VERSION_FIELD)
            current = locked_version(type(self.instance), self.instance.pk)
            if sent and current and sent != current:
                self.data = self.data.copy()
                self.data[self.add_prefix(VERSION_FIELD)] = current
                raise ValidationError(stale_message(self.instance, sent))
            return cleaned

    VersionedForm.__name__ = form_class.__name__
    return VersionedForm


def stale_message(instance, version: str) -> str:
    changes, users = changes_since(instance, version)
    who = f" by {', '.join(users)}" if users else ""
    what = "; ".join(f"{field} is now “{value}”" for field, value in changes)
    return (
        f"This {instance._meta.verbose_name} was changed{who} since you opened it"
        f"{': ' + what if what else ''}. Your input is kept below: check it, and save again"
        " to replace those changes."
    )
