"""A search term read as a phone number: the admin's lists and the API's `search=` both
find a company, a lead or a deal by its phone however it is typed ("+44 1632 960010",
"01632 960010", "441632960010"), compared with the stored normalized numbers
(docs/decisions/0021). A deal has no number of its own: it is found by its lead's, or its
lead's company's.

The rows are found by id, one index lookup per number field (`company_org_phone`,
`lead_org_phone`), for the caller to union with its other matches: the fields or'ed in
the list's own query, across the join of a lead to its company, read every lead of the
organization (46 ms against 2 at 13,000 leads).
"""

from __future__ import annotations

import contextlib

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from leads import services
from leads.models import Company, Lead
from leads.normalize import normalize_phone


def typed_phones(term: str) -> set[str]:
    """The stored (normalized) phone numbers the term may be, none when it is not one.
    Digits typed without "+" or a leading 0 are either a national number without its
    trunk 0 ("1632 960010") or an international one without its "+" ("441632960010"):
    both are looked for, as storing would normalize either."""
    term = term.strip()
    if sum(ch.isdigit() for ch in term) < 6:  # a house number or a year is not a phone
        return set()
    code = services.country_code(services.organization_settings())
    typed = [term]
    if term[:1].isdigit() and not term.startswith("0"):
        typed.append("+" + term)
    phones = set()
    for value in typed:
        with contextlib.suppress(ValidationError):
            phones.add(normalize_phone(value, country_code=code))
    return phones


def companies_with(phones: set[str]) -> list[QuerySet]:
    """The live companies with one of `phones`."""
    return [Company.objects.filter(phone_normalized__in=phones)]


def leads_with(phones: set[str]) -> list[QuerySet]:
    """The leads with one of `phones`: their own, or their company's."""
    return [
        Lead.objects.filter(contact_phone_normalized__in=phones),
        Lead.objects.filter(company__in=Company.objects.filter(phone_normalized__in=phones)),
    ]


def of_leads_with(phones: set[str]) -> Q:
    """The rows with a lead (deals) whose lead has one of `phones`, its own or its
    company's: the leads are found by id and read once, a set each row's lead is looked up
    in, or'ed in the list's query (which reads the rows of the user's scope anyway)."""
    return Q(lead__in=ids_of(leads_with(phones)))


def ids_of(found: list[QuerySet]) -> QuerySet:
    """The ids of the rows of each of `found`, as one union, for an `__in` filter."""
    first, *others = (rows.order_by().values("pk") for rows in found)
    return first.union(*others)
