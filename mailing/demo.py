"""Demo email templates, so that "Send an email" on `make run` has something to pick.
Idempotent."""

from __future__ import annotations

from mailing import services
from mailing.models import EmailTemplate

DEMO_TEMPLATES = (
    (
        "Introduction",
        "A new website for {{ lead.company }}",
        "Hello {{ lead.contact_name }},\n\nwe build websites for trade businesses like"
        " {{ lead.company }}. Could we show you what yours could look like?\n\n"
        "{{ sender.name }}\n{{ organization.name }}",
    ),
    (
        "Follow-up after a call",
        "Following up, {{ lead.contact_name }}",
        "Hello {{ lead.contact_name }},\n\nthank you for your time today. As promised, here"
        " are the next steps.\n\n{{ sender.name }}\n{{ sender.email }}",
    ),
)


def load_demo(*, organization, users: dict) -> None:
    for name, subject, body in DEMO_TEMPLATES:
        if not EmailTemplate.all_objects.filter(name=name).exists():
            services.template_create(acting_user=None, name=name, subject=subject, body=body)
