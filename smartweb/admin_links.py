"""A row's page names the rows it points at (a lead's company, a deal's lead) as links to
their pages, and Django draws those links for whoever views the page. A record shared
with a colleague points at rows outside their reach, whose pages answer them 404: the
row is then named without a link. `links_where_readable` makes a change page's form and
inlines draw them so; each link is kept when the target's admin lets the user view or
change it. The other pages that name a related row (a record's history, a data subject
request's person) do the same through `link_if_readable` and `url_if_readable`. A person
(an owner, an assignee, who created the row) is named by name, as the lists name them
(`smartweb.people`), not by the email Django would show."""

from __future__ import annotations

from functools import partial

from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html

from smartweb import people


def _named(row) -> str:
    return people.person_name(row) if people.is_person(row) else str(row)


def opens_for(request, site, model, obj) -> bool:
    """Does the page of `obj` (a `model` row) on the admin `site` open for `request`'s
    user? Not when `model` has no admin there."""
    return site.is_registered(model) and site.get_model_admin(model).has_view_or_change_permission(
        request, obj
    )


def url_if_readable(request, site, obj) -> str | None:
    """The URL of `obj`'s admin page, or None when it would not open for the user."""
    if not opens_for(request, site, type(obj), obj):
        return None
    meta = obj._meta
    return reverse(f"{site.name}:{meta.app_label}_{meta.model_name}_change", args=[quote(obj.pk)])


def link_if_readable(request, site, obj) -> str:
    """`obj` named as a link to its admin page, or by its name alone when that page would
    not open for the user."""
    url = url_if_readable(request, site, obj)
    return _named(obj) if url is None else format_html('<a href="{}">{}</a>', url, _named(obj))


def _admin_url_if_readable(request, field, remote_field, remote_obj):
    """Django's read-only related field, drawn by `link_if_readable`."""
    return link_if_readable(request, field.model_admin.admin_site, remote_obj)


class _Fieldline(helpers.Fieldline):
    request = None

    def __iter__(self):
        for field in super().__iter__():
            if isinstance(field, helpers.AdminReadonlyField):
                field.get_admin_url = partial(_admin_url_if_readable, self.request, field)
            yield field


class _Drawn:
    """Each of the parts it yields (a form's fieldsets, a fieldset's lines…) drawn as
    `part`, with the request."""

    request = None
    part: type

    def __iter__(self):
        for item in super().__iter__():
            item.__class__, item.request = self.part, self.request
            yield item


class _Fieldset(_Drawn, helpers.Fieldset):
    part = _Fieldline


class _InlineFieldset(_Drawn, helpers.InlineFieldset):
    part = _Fieldline


class _AdminForm(_Drawn, helpers.AdminForm):
    part = _Fieldset


class _InlineAdminForm(_Drawn, helpers.InlineAdminForm):
    part = _InlineFieldset


class _InlineAdminFormSet(_Drawn, helpers.InlineAdminFormSet):
    part = _InlineAdminForm


def links_where_readable(adminform, request):
    """`adminform` (a change page's `helpers.AdminForm`), its read-only related rows
    linked only where `request`'s user may open them."""
    if type(adminform) is helpers.AdminForm:
        adminform.__class__, adminform.request = _AdminForm, request
    return adminform


def inline_links_where_readable(formsets: list, request) -> list:
    """The same for a change page's inlines (`helpers.InlineAdminFormSet`s)."""
    for formset in formsets:
        if type(formset) is helpers.InlineAdminFormSet:
            formset.__class__, formset.request = _InlineAdminFormSet, request
    return formsets
