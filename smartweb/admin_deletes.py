"""A delete the services refuse, shown as a refusal and not as a server error.

Deleting through the admin goes through each model's service (`delete_model`), whose
rules may refuse it: the default pipeline, a pipeline with open deals, the last admin's
membership, a lock waited out. From a row's page the refusal is shown on the row's page
again, with its reason; from the list's "Delete selected", nothing is deleted and the
list names each row refused and why, so that the user can leave those out and delete
the rest. Either way nothing is written: not the trash entries, not the admin's log.
A user who may not delete at all still gets the 403 (Django's checks, before these).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin import actions
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy

from smartweb.errors import NOT_PERMITTED, Refusal, refusal_message

# At most this many refused rows are named; the rest are counted.
NAMED_AT_MOST = 10


class RowsRefused(Refusal):
    """Some of the rows chosen on a list may not be deleted (or restored…), each with
    why: raised once every row was tried, so that the list names them all and changes
    none. `undone` leads the message where its caller does not say it ("Nothing was
    restored.")."""

    def __init__(self, refusals: list[tuple[object, Exception]], undone: str = ""):
        super().__init__(" ".join(filter(None, [undone, _listed(refusals)])))


def _listed(refusals: list[tuple[object, Exception]]) -> str:
    # One sentence: each reason's own full stop would end it before the next row's name.
    named = [
        f"“{row}”: {refusal_message(why, default=NOT_PERMITTED).rstrip('.')}"
        for row, why in refusals[:NAMED_AT_MOST]
    ]
    if len(refusals) > NAMED_AT_MOST:
        named.append(f"and {len(refusals) - NAMED_AT_MOST} more")
    return "; ".join(named) + "."


@actions.action(
    permissions=["delete"],
    description=gettext_lazy("Delete selected %(verbose_name_plural)s"),
)
def delete_selected(modeladmin, request, queryset):
    """Django's "Delete selected" (its confirmation page, its log, its message), all of it
    undone when a row is refused (`RowsRefused`), with the refusals shown on the list."""
    try:
        with transaction.atomic():
            return actions.delete_selected(modeladmin, request, queryset)
    except (Refusal, ValidationError) as refusal:  # RowsRefused names each row
        message = refusal_message(refusal)
        modeladmin.message_user(request, f"Nothing was deleted. {message}", messages.ERROR)
    return None


class RefusedDeleteShownMixin:
    """A row's delete page: a delete the services refuse goes back to the row's page with
    the reason (nothing written), as a refused save is shown on its form."""

    def delete_view(self, request, object_id, extra_context=None):
        if request.method != "POST":
            return super().delete_view(request, object_id, extra_context)
        try:
            with transaction.atomic():
                return super().delete_view(request, object_id, extra_context)
        except (Refusal, ValidationError) as refusal:
            self.message_user(request, f"Not deleted: {refusal_message(refusal)}", messages.ERROR)
        opts = self.model._meta
        page = reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
            args=[object_id],
        )
        return HttpResponseRedirect(page)
