"""The owner filter of the deal board and the sales dashboard: the owners whose deals the
viewer may see (themselves alone for a rep, their team for a manager, everyone for an
admin), the viewer first as "Me (name)", the filter a rep reaches for. An owner outside
them asked for in the address is refused as an invalid choice."""

from __future__ import annotations

from django import forms
from django.db.models import Case, When

from accounts.models import User
from smartweb import access
from smartweb.forms import PlainSelect
from smartweb.rbac import Action, Resource


class OwnerFilterField(forms.ModelChoiceField):
    """Offers no one until the form names its viewer (`offer_owners_seen_by`)."""

    def __init__(self, **kwargs):
        super().__init__(
            queryset=User.objects.none(),
            required=False,
            empty_label="Everyone",
            widget=PlainSelect,
            **kwargs,
        )

    def offer_owners_seen_by(self, viewer: User) -> None:
        owners = access.assignable_users(viewer, Action.READ, Resource.OPPORTUNITIES)
        self.queryset = owners.order_by(Case(When(pk=viewer.pk, then=0), default=1), "email")
        self.label_from_instance = lambda owner: (
            f"Me ({owner.get_full_name()})" if owner.pk == viewer.pk else owner.get_full_name()
        )
