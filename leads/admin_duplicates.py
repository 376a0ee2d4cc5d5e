"""A new company that may already exist is refused until the user says to go on: on the
company page and in the "+" popup of a lead's company field alike (the same form). The
lead form's own check then only sees the company once it is saved, too late for a popup."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from leads import duplicate_notice, selectors, services
from leads.models import Company
from smartweb.tenancy.context import current_organization_id

ALLOW_FIELD = "allow_duplicate"
KEYS = {
    "name": "name",
    "phone_normalized": "phone",
    "email_normalized": "email",
    "website_domain": "website",
}


def allow_duplicate_field() -> forms.BooleanField:
    return forms.BooleanField(
        required=False,
        help_text="Create the company even though it matches existing ones "
        "(name, phone, email, website).",
    )


def refuse_duplicate_company(form: forms.ModelForm, cleaned: dict) -> None:
    """Add a form error telling of the existing companies a new one matches, if any (by
    name only those the user may read)."""
    if not form.instance._state.adding or cleaned.get(ALLOW_FIELD):
        return
    probe = Company(organization_id=current_organization_id())
    data = {name: cleaned[name] for name in services.COMPANY_FIELDS if name in cleaned}
    try:
        services.clean_company_fields(probe, data, services.organization_settings())
    except ValidationError:
        return  # the fields' own errors: the save reports them
    found = selectors.companies_like(probe)
    if not found:
        return
    told = duplicate_notice.notices(form.request.user, [(c, _matched(probe, c)) for c in found])
    described = duplicate_notice.listed(told)
    form.add_error(
        None,
        f"Possible duplicate of: {described}. Tick 'allow duplicate' to create it anyway.",
    )


def _matched(new: Company, existing: Company) -> list[str]:
    same = []
    for field_name, label in KEYS.items():
        mine, theirs = getattr(new, field_name), getattr(existing, field_name)
        if mine and (mine.casefold() == theirs.casefold()):
            same.append(label)
    return same
