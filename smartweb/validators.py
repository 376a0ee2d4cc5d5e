"""Validators shared by the models, the admin's forms and the API's fields, so that each
rule is stated once whichever way a value comes in."""

from __future__ import annotations

from django.core.validators import RegexValidator

# A person's name heads the From of the mail they send, where a line break is refused by
# the mailer (and every later message of theirs failed).
ONE_LINE = RegexValidator(
    r"[\x00-\x1f\x7f]", "Must be one line, without control characters.", inverse_match=True
)
