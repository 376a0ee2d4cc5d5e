"""Proposal arithmetic, in Decimal, rounded half up to cents at each stored amount.

    subtotal = quantity × unit price
    discount = subtotal × discount % / 100
    tax      = (subtotal − discount) × tax rate % / 100
    total    = subtotal − discount + tax

A proposal's totals are the sums of its lines' stored amounts, so the lines always add up
to the proposal (the database checks both equations too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
MAX_MONEY = Decimal("999999999999.99")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = Decimal("0")
    tax_rate: Decimal = Decimal("0")
    # A client that states the line's total must agree with ours, to the cent.
    expected_total: Decimal | None = None


@dataclass(frozen=True)
class Amounts:
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


def line_problems(line: LineInput) -> dict[str, str]:
    """What is wrong with a line, by field name (nothing: empty)."""
    errors = {}
    if not (line.description or "").strip():
        errors["description"] = "A line needs a description."
    for name in ("quantity", "unit_price", "discount_percent", "tax_rate"):
        value = getattr(line, name)
        if not isinstance(value, Decimal) or not value.is_finite():
            errors[name] = "Enter a number."
    if not errors:
        if line.quantity <= 0:
            errors["quantity"] = "The quantity must be more than zero."
        if line.unit_price < 0:
            errors["unit_price"] = "The unit price cannot be negative."
        for name in ("discount_percent", "tax_rate"):
            if not Decimal("0") <= getattr(line, name) <= HUNDRED:
                errors[name] = "Use a percentage between 0 and 100."
    if not errors and line.quantity * line.unit_price > MAX_MONEY:
        errors["unit_price"] = "The line amount is too large."
    return errors


def validate_line(line: LineInput, *, index: int = 0) -> None:
    errors = line_problems(line)
    if errors:
        raise ValidationError({f"lines[{index}]": [f"{k}: {v}" for k, v in errors.items()]})


def line_amounts(line: LineInput) -> Amounts:
    subtotal = cents(line.quantity * line.unit_price)
    discount = cents(subtotal * line.discount_percent / HUNDRED)
    tax = cents((subtotal - discount) * line.tax_rate / HUNDRED)
    return Amounts(subtotal, discount, tax, subtotal - discount + tax)


def sum_amounts(amounts: Iterable[Amounts]) -> Amounts:
    subtotal = discount = tax = Decimal("0.00")
    for a in amounts:
        subtotal += a.subtotal
        discount += a.discount
        tax += a.tax
    return Amounts(subtotal, discount, tax, subtotal - discount + tax)
