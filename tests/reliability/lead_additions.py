"""What colleagues add to one lead while it is merged away or deleted: a note, a task, an
enrichment, a file, a share, each through the API."""

from __future__ import annotations

from attachments.models import Attachment
from crm.models import Task
from leads.models import Interaction, LeadEnrichment
from tests.attachments import samples

# The model of the row each adds, and its request (path and keyword arguments) for the
# lead, a label and a colleague. A share adds no row of the lead's: it is judged by its
# audit event.
ADDED = {
    "interactions": (
        Interaction,
        lambda lead, i, _: (
            "interactions/",
            {"json": {"lead": lead, "type": "note", "subject": i}},
        ),
    ),
    "tasks": (Task, lambda lead, i, _: ("tasks/", {"json": {"lead": lead, "title": i}})),
    "enrichments": (
        LeadEnrichment,
        lambda lead, i, _: ("enrichments/", {"json": {"lead": lead, "provider": i, "data": {}}}),
    ),
    "attachments": (
        Attachment,
        lambda lead, i, _: (
            "attachments/",
            {"data": {"lead": lead}, "files": {"file": (f"{i}.png", samples.PNG, "image/png")}},
        ),
    ),
    "shares": (
        None,
        lambda lead, i, colleague: (f"leads/{lead}/shares/", {"json": {"user": colleague}}),
    ),
}
# Seven clients adding, notes and enrichments twice (they lock the lead and its company).
KINDS = (*ADDED, "interactions", "enrichments")


def add(api, live_url: str, kind: str, lead: str, label: str, colleague: str):
    """Send the request adding a `kind` (labelled `label`) to `lead`; its answer."""
    path, request = ADDED[kind][1](lead, label, colleague)
    return api.post(f"{live_url}/api/v1/{path}", timeout=60, **request)
