"""One lead's timeline, newest first: interactions with their content, tasks, status and
score changes (from the lead's history), AI calls, opportunities, proposals and the files
attached to the lead.

The lead is where the sales work around it is seen, so this reads the CRM's rows too.
One query per kind of row, each bounded to the newest `limit`, whatever the lead holds:
the page costs the same with 5 entries or 5,000. Every kind is read within the user's
permission scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Model

from attachments.models import Attachment
from attachments.selectors import attachments_of
from crm.models import AICall, Opportunity, Proposal, Task
from leads.models import Interaction, Lead
from leads.status_notes import is_status_note, note_subjects, status_label
from smartweb import access
from smartweb.rbac import Action

LIMIT = 200
# A status note is written in the transaction of its change, a moment after the history row.
STATUS_NOTE_DELAY = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class Entry:
    at: dt.datetime
    # interaction, status, score, created, task, ai_call, opportunity, proposal, file
    kind: str
    title: str
    detail: str = ""
    by: str = ""
    obj: Model | None = None  # the row the entry links to, if it has a page


def lead_timeline(*, lead: Lead, user, limit: int = LIMIT) -> list[Entry]:
    """The newest `limit` entries of the lead's timeline that `user` may read."""
    calls = _visible(user, AICall.objects.filter(lead=lead)).order_by("-created_at")[:limit]
    calls = list(calls.select_related("campaign"))
    call_interactions = {call.interaction_id for call in calls}
    interactions = [i for i in _interactions(lead, user, limit) if i.pk not in call_interactions]
    notes = [i for i in interactions if is_status_note(i)]
    entries = [
        *(_interaction_entry(i) for i in interactions if not is_status_note(i)),
        *_history_entries(lead, limit, notes),
        *(_call_entry(c) for c in calls),
        *(_task_entry(t) for t in _newest(user, Task, {"lead": lead}, ["assigned_to"], limit)),
        *(
            _opportunity_entry(o)
            for o in _newest(user, Opportunity, {"lead": lead}, ["stage", "owner"], limit)
        ),
        *(
            _proposal_entry(p)
            for p in _newest(user, Proposal, {"opportunity__lead": lead}, ["created_by"], limit)
        ),
        # The lead's own files: whoever reads the lead reads them (ADR 0030).
        *(_file_entry(a) for a in attachments_of(lead).order_by("-created_at")[:limit]),
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def _visible(user, queryset):
    return access.visible(user, Action.READ, queryset)


def _newest(user, model, of_lead: dict, related: list[str], limit: int) -> list:
    """The newest `limit` rows of `model` of the lead that `user` may read."""
    rows = _visible(user, model.objects.filter(**of_lead)).select_related(*related)
    return list(rows.order_by("-created_at")[:limit])


def _name(user) -> str:
    return (user.get_full_name() or user.email) if user is not None else ""


def _interactions(lead: Lead, user, limit: int) -> list[Interaction]:
    rows = _visible(user, Interaction.objects.filter(lead=lead)).defer("search_vector")
    return list(rows.select_related("created_by").order_by("-occurred_at")[:limit])


def _interaction_entry(interaction: Interaction) -> Entry:
    parts = [interaction.get_type_display(), interaction.get_direction_display()]
    if interaction.outcome:
        parts.append(interaction.get_outcome_display())
    title = " · ".join(parts)
    if interaction.subject:
        title = f"{title}: {interaction.subject}"
    return Entry(
        at=interaction.occurred_at,
        kind="interaction",
        title=title,
        detail=interaction.content,
        by=_name(interaction.created_by),
        obj=interaction,
    )


def _history_entries(lead: Lead, limit: int, notes: list[Interaction]) -> list[Entry]:
    """Creation, status changes and score changes, from the lead's newest history rows,
    each compared with the one before it."""
    rows = list(
        Lead.history.filter(id=lead.pk)
        .select_related("history_user")
        .only("history_id", "history_date", "history_type", "status", "lead_score", "history_user")
        .order_by("-history_date", "-history_id")[: limit + 1]
    )
    rows.reverse()
    reasons = _reasons(notes)
    entries = []
    for previous, row in zip([None, *rows], rows, strict=False):
        by = _name(row.history_user)
        if previous is None:
            if row.history_type == "+":
                title = f"Lead created ({row.get_status_display()}, score {row.lead_score})"
                entries.append(Entry(at=row.history_date, kind="created", title=title, by=by))
            continue
        if row.status != previous.status:
            entries.append(
                Entry(
                    at=row.history_date,
                    kind="status",
                    title=f"Status: {status_label(previous.status)} → {status_label(row.status)}",
                    detail=_reason_for(reasons, previous.status, row.status, row.history_date),
                    by=by,
                )
            )
        if row.lead_score != previous.lead_score:
            entries.append(
                Entry(
                    at=row.history_date,
                    kind="score",
                    title=f"Score: {previous.lead_score} → {row.lead_score}",
                    by=by,
                )
            )
    return entries


def _reasons(notes: list[Interaction]) -> dict[str, list[Interaction]]:
    by_subject: dict[str, list[Interaction]] = {}
    for note in sorted(notes, key=lambda n: n.occurred_at):
        by_subject.setdefault(note.subject, []).append(note)
    return by_subject


def _reason_for(reasons, previous: str, status: str, at: dt.datetime) -> str:
    """The reason of the status note of this change (taken, so each is used once), its
    subject written with the statuses' labels or, before, their stored values."""
    for subject in note_subjects(previous, status):
        candidates = reasons.get(subject, [])
        for index, note in enumerate(candidates):
            if at - STATUS_NOTE_DELAY <= note.occurred_at <= at + STATUS_NOTE_DELAY:
                return candidates.pop(index).content
    return ""


def _call_entry(call: AICall) -> Entry:
    parts = [call.get_status_display()]
    if call.outcome:
        parts.append(call.get_outcome_display())
    if call.sentiment:
        parts.append(call.get_sentiment_display())
    return Entry(
        at=call.started_at or call.created_at,
        kind="ai_call",
        title=f"AI call ({call.campaign.name}): {' · '.join(parts)}",
        detail=call.summary or call.failure_reason,
        obj=call,
    )


def _task_entry(task: Task) -> Entry:
    due = f", due {task.due_at:%Y-%m-%d %H:%M}" if task.due_at else ""
    return Entry(
        at=task.created_at,
        kind="task",
        title=f"Task ({task.get_status_display()}{due}): {task.title}",
        detail=task.description,
        by=_name(task.assigned_to),
        obj=task,
    )


def _opportunity_entry(opportunity: Opportunity) -> Entry:
    detail = f"Lost: {opportunity.lost_reason}" if opportunity.lost_reason else ""
    return Entry(
        at=opportunity.created_at,
        kind="opportunity",
        title=(
            f"Opportunity: {opportunity.name} ({opportunity.get_status_display()},"
            f" {opportunity.stage.name}, {opportunity.value} {opportunity.currency})"
        ),
        detail=detail,
        by=_name(opportunity.owner),
        obj=opportunity,
    )


def _proposal_entry(proposal: Proposal) -> Entry:
    return Entry(
        at=proposal.created_at,
        kind="proposal",
        title=(
            f"Proposal {proposal.number}: {proposal.title} ({proposal.get_status_display()},"
            f" {proposal.total} {proposal.currency})"
        ),
        detail=proposal.rejection_reason,
        by=_name(proposal.created_by),
        obj=proposal,
    )


def _file_entry(attachment: Attachment) -> Entry:
    return Entry(
        at=attachment.created_at,
        kind="file",
        title=f"File: {attachment.original_name}",
        detail=f"{attachment.content_type}, {attachment.size} bytes",
        by=_name(attachment.uploaded_by),
        obj=attachment,
    )
