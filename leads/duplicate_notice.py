"""How an existing duplicate is named to the user it is reported to.

Duplicates are looked for across the whole organization, whatever the user's scope: a
rep must not open a second lead on a business a colleague already works. The report
names a record only when the user may read it; of any other it says only that one exists
and what it shares, so that a warning shows nothing beyond the user's scope. The admin's
forms, the CSV import and the API all describe duplicates through `notices`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Model

from smartweb import access
from smartweb.rbac import Action


@dataclass(frozen=True)
class Notice:
    """One duplicate as the user is told of it; `record` is None when they may not read it."""

    record: Model | None
    noun: str
    matched_on: tuple[str, ...]

    def __str__(self) -> str:
        shared = ", ".join(self.matched_on)
        if self.record is not None:
            return f"{self.record} ({shared})" if shared else str(self.record)
        return (
            f"a {self.noun} you cannot open, with the same {shared or 'details'} (ask your manager)"
        )


def notices(user, found: Sequence[tuple[Model, Sequence[str]]]) -> list[Notice]:
    """`found` (each record with the keys it shares) as `user` may be told of it. None is
    the system (a command, a job), which reads everything."""
    readable = _readable(user, [record for record, _ in found])
    return [
        Notice(
            record if (type(record), record.pk) in readable else None,
            str(record._meta.verbose_name),
            tuple(matched_on),
        )
        for record, matched_on in found
    ]


def listed(items: Iterable[Notice]) -> str:
    """The notices as one phrase; several records the user cannot open are told of once."""
    return "; ".join(dict.fromkeys(str(item) for item in items))


def _readable(user, records: Sequence[Model]) -> set[tuple[type, object]]:
    """(model, pk) of the records `user` may read: one query per model."""
    if user is None:
        return {(type(record), record.pk) for record in records}
    ids = defaultdict(list)
    for record in records:
        ids[type(record)].append(record.pk)
    readable = set()
    for model, pks in ids.items():
        rows = access.visible(user, Action.READ, model._default_manager.filter(pk__in=pks))
        readable.update((model, pk) for pk in rows.values_list("pk", flat=True))
    return readable
