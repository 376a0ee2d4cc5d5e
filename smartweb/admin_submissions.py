"""A form of the admin is saved once per submission (ADR 0049).

A double click or a browser sending a form again posted it several times at once, and
each post saved: six proposals, six webhook endpoints each with a secret of its own, six
copies of a note on a lead; a change form's repeats were refused as stale by its first
post. A form carries a key made when its page was rendered (`SubmissionField`). Posting
it claims the key with the form's input, in the request's transaction, as the API's
`Idempotency-Key` does (`accounts.IdempotentRequest`): a repeat waits for the first post
to end, then gets the first answer (`Repeated`) and saves nothing. A post that saved
nothing (refused, or its form shown again with errors) releases its key, so the form can
be corrected and sent again.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.utils import timezone

from accounts.models import IdempotentRequest
from smartweb.api.idempotency import claim_or_first, fingerprint_of
from smartweb.tenancy.context import current_organization_id

# The hidden field of a form, holding its submission's key.
SUBMISSION_FIELD = "_submission"
KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Where the request keeps its claim until it knows whether it saved.
CLAIM = "_admin_submission_claim"
# Part of the page, not of what was typed: a page opened again has another token.
NOT_INPUT = frozenset({"csrfmiddlewaretoken"})


class Repeated(Exception):  # noqa: N818  (control flow: the answer is already known)
    """The submission was saved by an earlier post; `answer` says where it led."""

    def __init__(self, answer: dict):
        self.answer = answer


def new_key() -> str:
    return secrets.token_urlsafe(16)


class SubmissionField(forms.CharField):
    """The key of one submission of the form: made anew each time the page is rendered,
    kept when the page is shown again with errors; never a change."""

    widget = forms.HiddenInput

    def __init__(self):
        super().__init__(required=False, initial=new_key)

    def has_changed(self, initial, data) -> bool:
        return False


def submitted_once(form_class: type[forms.BaseForm]) -> type[forms.BaseForm]:
    """The form with the key of its submission, which its cleaned data leaves out (the
    services are given what was typed)."""

    class SubmittedOnce(form_class):
        _submission = SubmissionField()

        def clean(self):
            cleaned = super().clean()
            self.cleaned_data.pop(SUBMISSION_FIELD, None)
            return cleaned

    SubmittedOnce.__name__ = form_class.__name__
    return SubmittedOnce


def claim(request) -> None:
    """Claim the posted form's submission, or raise `Repeated` with the answer of the
    post that saved it. A form without a key (a page rendered before keys) claims
    nothing and saves as before."""
    key = request.POST.get(SUBMISSION_FIELD, "")
    if not KEY.fullmatch(key):
        return
    fields = [
        *((name, values) for name, values in request.POST.lists() if name not in NOT_INPUT),
        *request.FILES.lists(),
    ]
    fingerprint = fingerprint_of(fields)
    row = IdempotentRequest(
        organization_id=current_organization_id(),
        user=request.user,
        # The input is part of the key: the page's form changed and sent again (after
        # going back to it) is another submission.
        key=f"{key}.{fingerprint}",
        endpoint=request.path[:300],
        fingerprint=fingerprint,
        expires_at=timezone.now() + dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
    )
    first = claim_or_first(row)
    if first is not None:
        raise Repeated(first.response_body or {})
    setattr(request, CLAIM, row)


def answered(request, answer: dict) -> None:
    """The submission saved: its repeats are answered with `answer`."""
    row = getattr(request, CLAIM, None)
    if row is not None:
        row.response_body = answer
        row.save(update_fields=["response_body", "updated_at"])


def release_unanswered(request) -> None:
    """The submission saved nothing: its key may be posted again."""
    row = getattr(request, CLAIM, None)
    if row is not None and row.response_body is None:
        row.delete()
    if hasattr(request, CLAIM):
        delattr(request, CLAIM)


def redirected(request, location: str, message: str) -> HttpResponseRedirect:
    """The answer of a form that saved (a step, a conversion): its message and the page it
    leads to, kept as the answer to its repeats."""
    answered(request, {"location": location, "message": message})
    return replayed(request, {"location": location, "message": message})


def replayed(request, answer: dict) -> HttpResponseRedirect:
    """The answer `redirected` kept, given again to a repeat."""
    messages.success(request, answer["message"])
    return HttpResponseRedirect(answer["location"])
