"""The note a lead's status change writes on its timeline: its subject names the change by
the statuses' labels ("Status changed from New to Contacted"), its content is the reason.

Notes written before named the stored values ("from new to contacted") and are kept as
written: each page and answer that shows a note reads it through `subject_as_read`, which
names those statuses by their labels when it is drawn, as the timeline names each change
(docs/decisions/0016). The stored text is what its history holds; rewriting it would
change rows nobody changed."""

from __future__ import annotations

from leads.choices import Direction, InteractionType, LeadStatus

SUBJECT = "Status changed from {} to {}"
SUBJECT_PREFIX = "Status changed from "


def status_label(value: str) -> str:
    """The status as people read it ("Contacted"); a value no longer a choice as stored."""
    return dict(LeadStatus.choices).get(value, value)


def note_subject(previous: str, status: str) -> str:
    return SUBJECT.format(status_label(previous), status_label(status))


def note_subjects(previous: str, status: str) -> tuple[str, str]:
    """The subject of this change's note as written now, and as written before."""
    return note_subject(previous, status), SUBJECT.format(previous, status)


def is_status_note(interaction) -> bool:
    """Is the interaction the note `lead_change_status` writes with a change?"""
    return (
        interaction.type == InteractionType.NOTE
        and interaction.direction == Direction.INTERNAL
        and interaction.subject.startswith(SUBJECT_PREFIX)
    )


def subject_as_read(interaction) -> str:
    """The interaction's subject as people read it: a status note written with the
    statuses' stored values ("from new to contacted") names them by their labels; any
    other subject as written."""
    if not is_status_note(interaction):
        return interaction.subject
    previous, _, status = interaction.subject.removeprefix(SUBJECT_PREFIX).partition(" to ")
    if previous in LeadStatus.values and status in LeadStatus.values:
        return note_subject(previous, status)
    return interaction.subject
