"""Why a deal was won or lost, asked whenever a deal is moved into a won or lost stage: on
the board (a card dropped on Won or Lost, crm.admin_board), on the deal's page (*Mark
won*, *Mark lost*, crm.admin_steps) and by the API's stage move (crm.api). One check and
one way of storing the answer, so a deal carries its reason whichever way it was closed:
why it was lost on the deal, why it was won as the change reason of the move's history
entry (`opportunity_move_stage`). A signed contract wins its deal without one.
"""

from __future__ import annotations

from django import forms

from crm import services

LOST_REASON_MAX_LENGTH = 2000
MAX_LENGTH = {"won": services.WON_REASON_MAX_LENGTH, "lost": LOST_REASON_MAX_LENGTH}


def outcome_of(stage) -> str:
    """Won or lost, as "won" or "lost", for a stage that closes a deal; "" for an open one."""
    if stage.is_won:
        return "won"
    return "lost" if stage.is_lost else ""


def refusal(outcome: str, reason: str) -> str | None:
    """Why `reason` (stripped) will not do for a deal closing as `outcome`, or None."""
    if not reason:
        return f"Say why the opportunity was {outcome}."
    if len(reason) > MAX_LENGTH[outcome]:
        return f"Say why it was {outcome} in {MAX_LENGTH[outcome]} characters at most."
    return None


def argument(outcome: str) -> str:
    """The name of the reason for `outcome` among `services.opportunity_move_stage`'s
    arguments (and the API's fields): "won_reason" or "lost_reason"."""
    return f"{outcome}_reason"


def move_arguments(outcome: str, reason: str) -> dict[str, str]:
    """The reason as `services.opportunity_move_stage` takes it for `outcome`."""
    return {argument(name): reason if outcome == name else "" for name in MAX_LENGTH}


class CloseReasonForm(forms.Form):
    """The deal page's question, checked as the board checks its dialog's answer."""

    # Not `required`: an empty answer gets the board's message, not Django's.
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, outcome: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome = outcome
        field = self.fields["reason"]
        field.label = f"Why was it {outcome}?"
        field.widget.attrs["maxlength"] = MAX_LENGTH[outcome]

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        problem = refusal(self.outcome, reason)
        if problem:
            raise forms.ValidationError(problem)
        return reason
