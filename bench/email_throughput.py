"""Email: messages per second through a local SMTP server, and the render time of a
50-line proposal's PDF.

    .venv/bin/python -m smartweb.devdb run -- .venv/bin/python -m bench.email_throughput \
        [--messages 300] [--renders 30] [--reuse]

A database of its own (`smartweb_bench_email`, dropped, created and migrated), one
organization, one consenting lead with an address, and a real SMTP server (aiosmtpd, the
tests' sink) on 127.0.0.1 in this process.

1. Throughput: `--messages` messages are queued through the service (the row, the
   timeline interaction, the re-score, in one transaction each), then delivered as the
   `mailing.send` job does, one transaction and one SMTP connection per message, by one
   and by two senders at once (threads, each its own database connection). Messages per
   second from the first send to the last arrival; and the queueing rate.
2. PDF: a proposal with 50 lines is rendered `--renders` times (ReportLab, no storage):
   p50 / p95 / max in milliseconds, and the size.
Every loop is bounded; the run stops by itself.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from decimal import Decimal

from bench import world

DATABASE = "smartweb_bench_email"


def _world():
    from crm import pricing, services
    from leads import services as lead_services
    from smartweb.tenancy.context import tenant_context

    organization, _admin = world.new_organization("email")
    with tenant_context(organization):
        lead = lead_services.lead_create(
            acting_user=None,
            data={
                "contact_name": "Dana Drip",
                "contact_email": f"dana@{organization.slug}.test",
                "consent_to_contact": True,
            },
            company_data={"name": "Drip Drop Plumbing", "business_type": "plumber"},
        )
        lead = lead_services.lead_change_status(
            lead=lead, status="qualified", acting_user=None, reason="a benchmark"
        )
        opportunity = services.lead_convert(lead=lead, acting_user=None, value=Decimal(1000))
        line = pricing.LineInput
        proposal = services.proposal_create(
            opportunity=opportunity,
            acting_user=None,
            title="A new website",
            lines=[
                line(
                    description=f"Page {n}: design, copy and build",
                    quantity=Decimal("1"),
                    unit_price=Decimal("120.00"),
                    discount_percent=Decimal("5"),
                    tax_rate=Decimal("20"),
                )
                for n in range(50)
            ],
        )
    return organization, lead, proposal


def _queue(organization, lead, count: int) -> float:
    from mailing import services
    from smartweb.tenancy.context import tenant_context

    started = time.perf_counter()
    for n in range(count):
        with tenant_context(organization):
            services.email_send_to_lead(
                lead=lead,
                acting_user=None,
                subject=f"Message {n} for {{{{ lead.contact_name }}}}",
                body="Hello {{ lead.contact_name }},\n\nabout your website.\n",
            )
    return count / (time.perf_counter() - started)


def _send(organization, senders: int, sink, expected: int) -> float:
    from django.db import connection

    from mailing import delivery
    from smartweb.tenancy.context import tenant_context

    with tenant_context(organization):
        ids = [str(pk) for pk in delivery.due().values_list("pk", flat=True)]
    shares = [ids[n::senders] for n in range(senders)]

    def sender(share):
        try:
            for message_id in share:
                with tenant_context(organization):
                    if delivery.deliver(message_id=message_id) != "sent":
                        raise SystemExit(f"{message_id} was not sent")
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=sender, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    arrived = sink.wait_for(expected, timeout=120)
    if len(arrived) < expected:
        raise SystemExit(f"{expected - len(arrived)} messages did not arrive")
    return len(ids) / (time.perf_counter() - started)


def _render(organization, proposal, renders: int) -> dict[str, float]:
    from accounts.models import Organization
    from crm.models import Proposal
    from mailing import pdf
    from smartweb.tenancy.context import tenant_context

    times, size = [], 0
    with tenant_context(organization):
        stored = Organization.objects.get(pk=organization.pk)
        for _ in range(renders):
            row = Proposal.objects.get(pk=proposal.pk)  # the lines are read each time
            started = time.perf_counter()
            size = len(pdf.proposal_pdf(row, organization=stored))
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, int(len(times) * 0.95))],
        "max": times[-1],
        "kb": size / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the existing database")
    args = parser.parse_args()
    world.setup_django(DATABASE, fresh=not args.reuse)
    from django.conf import settings

    from tests.smtp_sink import smtp_sink

    with smtp_sink() as (sink, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        # Every email to a lead carries its unsubscribe link, built on the site's address.
        settings.SITE_URL = settings.SITE_URL or "https://crm.bench.invalid"
        organization, lead, proposal = _world()
        sent = 0
        for senders in (1, 2):
            queued = _queue(organization, lead, args.messages)
            sent += args.messages
            per_second = _send(organization, senders, sink, sent)
            print(
                f"{args.messages} messages: queued {queued:.0f}/s;"
                f" sent by {senders} sender(s): {per_second:.0f} emails/s"
            )
    result = _render(organization, proposal, args.renders)
    print(
        f"PDF of a 50-line proposal, {args.renders} renders: p50 {result['p50']:.0f} ms,"
        f" p95 {result['p95']:.0f} ms, max {result['max']:.0f} ms, {result['kb']:.0f} KiB"
    )


if __name__ == "__main__":
    main()
