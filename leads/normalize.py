"""Normalized contact keys: what makes two leads the same business.

Phones become E.164-like strings ("+441632960123"), emails lowercase, websites their
registrable host without "www.". The same functions validate input from the API, the
admin and CSV imports, so every path accepts and refuses the same values.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator, validate_email

DEFAULT_COUNTRY_CODE = "44"
_PHONE_CHARS = re.compile(r"^\+?[0-9()\-.\s/]+$")
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension)\s*\d{1,6}$", re.IGNORECASE)
_NON_DIGITS = re.compile(r"\D")
_url_validator = URLValidator(schemes=["http", "https"])
# A website's form, which the API schema states as its pattern: an optional http(s)
# scheme, a host name of up to four labels (of up to 50 characters) and a top-level
# domain (at most 228 characters: Django's URL validator refuses a host past 253), an
# optional port, then a path, query and fragment of the characters a URI takes as they
# are (no %-escapes). Every value of this form passes Django's URL validator and is a
# URI. Empty is no website, outside the pattern: the schema offers "" beside it.
_URI_CHARS = r"a-zA-Z0-9._~!$&'()*+,;=:@/"
WEBSITE_PATTERN = (
    r"^([hH][tT][tT][pP][sS]?://)?"
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,48}[a-zA-Z0-9])?\.){1,4}[a-zA-Z]{2,24}(:[0-9]{1,5})?"
    rf"(/[{_URI_CHARS}-]*)?(\?[{_URI_CHARS}?-]*)?(#[{_URI_CHARS}?-]*)?$"
)
website_form = RegexValidator(WEBSITE_PATTERN, "Enter a website such as https://example.com.")


def normalize_phone(raw: str, *, country_code: str = DEFAULT_COUNTRY_CODE) -> str:
    """'+44 1632 960123', '01632 960123', '0044…' -> '+441632960123'; '' stays ''."""
    value = (raw or "").strip()
    if not value:
        return ""
    value = _EXTENSION.sub("", value)
    if not _PHONE_CHARS.match(value):
        raise ValidationError("Enter a phone number of digits, spaces, +, -, ( and ).")
    digits = _NON_DIGITS.sub("", value)
    if value.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif digits.startswith("0"):
        number = country_code + digits[1:]
    else:
        number = country_code + digits
    if not 8 <= len(number) <= 15:
        raise ValidationError("A phone number has 8 to 15 digits with its country code.")
    return "+" + number


def validate_phone(value: str) -> None:
    normalize_phone(value)


def normalize_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    if value:
        validate_email(value)
    return value


def normalize_website(raw: str) -> str:
    """A URL with a scheme ('example.com' -> 'https://example.com'); '' stays ''."""
    value = (raw or "").strip()
    if not value:
        return ""
    website_form(value)
    if "://" not in value:
        value = "https://" + value
    _url_validator(value)
    return value


def website_domain(url: str) -> str:
    """The host of a website without 'www.', lowercase: the de-duplication key."""
    if not url:
        return ""
    host = (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
    return host.removeprefix("www.")
