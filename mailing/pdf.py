"""Proposal and contract PDFs, drawn with ReportLab (pure Python: no system libraries).

A proposal shows its line items, its totals in its currency and how long it is valid; a
contract its parties, value, dates and terms, and the lines of the proposal it came from.
Text is escaped before ReportLab's paragraph markup reads it.
"""

from __future__ import annotations

import io
from decimal import Decimal

from django.utils import timezone
from django.utils.html import escape
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from smartweb import time_zones

STYLES = getSampleStyleSheet()
LINE_HEADER = ["#", "Description", "Qty", "Unit price", "Discount", "VAT", "Total"]
GRID = TableStyle(
    [
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)
TOTALS = TableStyle(
    [
        ("ALIGN", (1, 0), (1, -1), "RIGHT"),
        ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
        ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
    ]
)


def _money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def _para(text: str, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), STYLES[style])


def _lines_table(proposal) -> Table:
    currency = proposal.currency
    rows = [LINE_HEADER]
    for number, line in enumerate(proposal.line_items.all(), start=1):
        rows.append(
            [
                str(number),
                _para(line.description),
                f"{line.quantity.normalize():f}",
                _money(line.unit_price, currency),
                f"{line.discount_percent.normalize():f}%",
                f"{line.tax_rate.normalize():f}%",
                _money(line.total, currency),
            ]
        )
    widths = [8 * mm, 68 * mm, 14 * mm, 26 * mm, 16 * mm, 12 * mm, 26 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(GRID)
    return table


def _totals_table(proposal) -> Table:
    currency = proposal.currency
    rows = [
        [f"Subtotal ({currency})", _money(proposal.subtotal, currency)],
        ["Discount", "-" + _money(proposal.discount_total, currency)],
        ["VAT", _money(proposal.tax_total, currency)],
        [f"Total ({currency})", _money(proposal.total, currency)],
    ]
    table = Table(rows, colWidths=[40 * mm, 36 * mm], hAlign="RIGHT")
    table.setStyle(TOTALS)
    return table


def _build(story: list) -> bytes:
    out = io.BytesIO()
    SimpleDocTemplate(
        out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, title="", invariant=1
    ).build(story)
    return out.getvalue()


def _customer(opportunity) -> str:
    lead = opportunity.lead
    who = ", ".join(part for part in (lead.contact_name, lead.company.name) if part)
    return f"For: {who}"


def proposal_pdf(proposal, *, organization) -> bytes:
    """The proposal as the customer receives it."""
    valid = (
        f"Valid until {proposal.valid_until:%d %B %Y}."
        if proposal.valid_until
        else "No expiry date is set."
    )
    # The organization's day, whether sent from the admin, the API or a job (ADR 0050).
    today = timezone.localdate(timezone=time_zones.zone_of(organization))
    story = [
        _para(organization.name, "Heading2"),
        _para(f"Proposal {proposal.number}: {proposal.title}", "Title"),
        _para(_customer(proposal.opportunity)),
        _para(f"Date: {today:%d %B %Y}. {valid}"),
        Spacer(1, 6 * mm),
        _lines_table(proposal),
        Spacer(1, 4 * mm),
        _totals_table(proposal),
    ]
    if proposal.notes:
        story += [Spacer(1, 6 * mm), _para(proposal.notes)]
    return _build(story)


def contract_pdf(contract, *, organization) -> bytes:
    """The contract to sign, with the lines of its proposal."""
    dates = " – ".join(f"{day:%d %B %Y}" for day in (contract.start_date, contract.end_date) if day)
    story = [
        _para(organization.name, "Heading2"),
        _para(f"Contract {contract.number}: {contract.title}", "Title"),
        _para(_customer(contract.opportunity)),
        _para(f"Value: {_money(contract.value, contract.currency)}. Term: {dates or 'open'}."),
        Spacer(1, 6 * mm),
        _lines_table(contract.proposal),
        Spacer(1, 4 * mm),
        _totals_table(contract.proposal),
    ]
    if contract.terms:
        story += [Spacer(1, 6 * mm), _para("Terms", "Heading3"), _para(contract.terms)]
    story += [Spacer(1, 12 * mm), _para("Signed: ______________________   Date: __________")]
    return _build(story)
