"""A record's shares on its admin page: who it is shared with, with a "Stop sharing"
button each, and "Share with a colleague" (a step page: the colleague and what they may
do), for whoever may share the record. sharing.services decides; the page offers only
what it would allow. Mix `SharesAdminMixin` into the record's model admin (before its
`StepsAdminMixin`) and list `SHARE_STEP` among its steps; the page shows the module
through `admin/change_form_steps.html`. A share the user could not have given is listed
without its "Stop sharing" button: taking it back would be refused."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from accounts.models import User
from compliance.erased import is_erased
from sharing import reassigning, selectors, services
from sharing.choices import ShareAccess
from smartweb.admin_steps import Step


class ColleagueChoiceField(forms.ModelChoiceField):
    """The colleagues a record may be shared with, named and ordered as "Shared with"
    names them (`selectors.colleague_names`), read once."""

    def offer(self, colleagues) -> None:
        self.queryset = colleagues
        names = selectors.colleague_names(colleagues)
        self.choices = [
            ("", self.empty_label),
            *sorted(names.items(), key=lambda choice: choice[1].casefold()),
        ]


class ShareForm(forms.Form):
    user = ColleagueChoiceField(queryset=User.objects.none(), label="With")
    access = forms.ChoiceField(
        choices=ShareAccess.choices,
        initial=ShareAccess.READ,
        label="They may",
        help_text="Sharing again with the same colleague changes what they may do.",
    )

    def __init__(self, *args, acting_user, record, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].offer(selectors.share_candidates(acting_user))
        # Only the levels the user may give (a manager who reads every lead but edits
        # their team's shares others' leads for viewing only).
        self.fields["access"].choices = [
            (level, label)
            for level, label in ShareAccess.choices
            if services.may_share(acting_user, record, level)
        ]


class ShareStep(Step):
    name, label, done = "share", "Share with a colleague", "Shared."
    button = "Share"
    form_class = ShareForm
    listed = False  # its button is in the "Shared with" module

    def permitted(self, user, obj) -> bool:
        return services.may_share(user, obj)

    def available(self, obj) -> bool:
        return obj.deleted_at is None and not is_erased(services.lead_id_of(obj))

    def form_kwargs(self, request, obj) -> dict:
        return {"acting_user": request.user, "record": obj}

    def run(self, request, obj, data):
        services.record_share(
            record=obj, user=data["user"], access_level=data["access"], acting_user=request.user
        )


SHARE_STEP = ShareStep()


class SharesAdminMixin:
    """Mix into a `StepsAdminMixin` admin whose `steps` hold `SHARE_STEP` (and whose
    `assignee_field` names the record's owner)."""

    def _unshare_url_name(self) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_unshare"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/shares/<uuid:user_id>/remove/",
                self.admin_site.admin_view(require_POST(self.unshare_view)),
                name=self._unshare_url_name(),
            ),
            *super().get_urls(),
        ]

    def get_readonly_fields(self, request, obj=None):
        # The owner of a record edited through a share is shown, not offered: those whose
        # role reaches the record reassign it (sharing.reassigning).
        fields = list(super().get_readonly_fields(request, obj))
        if (
            obj is not None
            and self.assignee_field not in fields
            and not reassigning.may_reassign(request.user, obj, self.resource)
        ):
            fields.append(self.assignee_field)
        return fields

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None and services.may_share(request.user, obj):
            shares = selectors.shares_of(obj)
            # By name, as the lists name people; two colleagues of one name by their email too.
            names = selectors.colleague_names(share.user for share in shares)
            context["shares"] = [
                (share, names[share.user.pk], self._unshare_url(request, obj, share))
                for share in sorted(shares, key=lambda share: names[share.user.pk].casefold())
            ]
            if SHARE_STEP.available(obj):
                context["share_url"] = reverse(
                    f"admin:{self._step_url_name()}", args=[obj.pk, SHARE_STEP.name]
                )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _unshare_url(self, request, obj, share) -> str | None:
        """Where "Stop sharing" posts, for a share the user could have given (its level
        within their role on the record, as `record_unshare` checks): a member whose role
        reads every lead but edits their own does not take back an edit share of a
        colleague's lead, which would be refused."""
        if not services.may_share(request.user, obj, share.access):
            return None
        return reverse(f"admin:{self._unshare_url_name()}", args=[obj.pk, share.user.pk])

    def unshare_view(self, request, object_id, user_id):
        obj = self.get_object(request, unquote(object_id))  # 404 outside the user's reach
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404("No such row.")
        if services.record_unshare(record=obj, user=user_id, acting_user=request.user):
            self.message_user(request, "No longer shared.", messages.SUCCESS)
        else:
            self.message_user(request, "It was not shared with them.", messages.WARNING)
        change_url = reverse(
            f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_change",
            args=[obj.pk],
        )
        return HttpResponseRedirect(f"{change_url}#shares")
