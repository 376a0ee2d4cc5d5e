"""Admin base classes: scoped by the permission service, soft-delete aware, with history.

Register tenant models with `TenantModelAdmin` (or `TenantOwnedModelAdmin` for
soft-deletable ones) and set `resource`. Querysets, foreign-key dropdowns, autocomplete,
raw id inputs (`readable_choices`) and actions then only ever see the current
organization's rows the user may see.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers, widgets
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.forms.models import model_to_dict
from django.forms.utils import ErrorDict
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import Truncator
from django.utils.translation import gettext
from procrastinate.contrib.django import app as queue
from procrastinate.contrib.django.admin import ProcrastinateEventInline, ProcrastinateJobAdmin
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status
from simple_history.admin import SimpleHistoryAdmin

from smartweb import access, admin_submissions, index_walks, outage, people
from smartweb.admin_deleted_rows import live_deleted_objects
from smartweb.admin_deletes import RefusedDeleteShownMixin, RowsRefused
from smartweb.admin_links import (
    inline_links_where_readable,
    links_where_readable,
    url_if_readable,
)
from smartweb.admin_pages import PageShownChangeList, PageShownMixin
from smartweb.admin_submissions import SUBMISSION_FIELD, submitted_once
from smartweb.admin_time_widgets import LocalDateTimeMixin
from smartweb.admin_typed_input import typed_input_html
from smartweb.admin_versions import (
    VERSION_FIELD,
    closed_message,
    deleted_message,
    deleted_row,
    versioned,
)
from smartweb.errors import NOT_PERMITTED, REFUSALS, Refusal, refusal_message
from smartweb.forms import MultilineField, keep_current_choices
from smartweb.history_values import HistoryValues
from smartweb.models import DeletedMeanwhile, RestoredMeanwhile, stored_rows
from smartweb.rbac import Action, Scope
from smartweb.unique_clashes import clash_of
from smartweb.versioning import is_versioned, version_of

T = TypeVar("T")

# The admin's form fields that are no model field.
HIDDEN_FIELDS = (VERSION_FIELD, SUBMISSION_FIELD)
# The query parameter by which a raw id lookup's list names the form field it serves
# ("<app_label>.<model_name>.<field_name>"): no filter of the list.
ATTACHED_BY_VAR = "_attached_by"


def adopt(obj, saved) -> None:
    """Make the admin's instance stand for the row a service saved (the change log entry,
    the inlines and the redirect use it)."""
    obj.__dict__.update(saved.__dict__)


class AppendOnlyAdminMixin:
    """Rows are added here (through the services) but never changed or deleted."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdminMixin(AppendOnlyAdminMixin):
    """Rows are only viewed here (a model admin or an inline)."""

    def has_add_permission(self, request, obj=None):
        return False


class CurrentChoicesInlineMixin:
    """Inline rows keep their current related values among the choices (see
    `keep_current_choices`)."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = keep_current_choices(formset.form)
        return formset


def column_ordering(model_admin, column):
    """What sorting by a list column sorts by, as `ChangeList.get_ordering_field` reads
    it (a field name or an expression), or None when it sorts nothing."""
    if callable(column):
        attr = column
    else:
        try:
            return model_admin.model._meta.get_field(column).name
        except FieldDoesNotExist:
            pass
        attr = getattr(model_admin, column, None) or getattr(model_admin.model, column, None)
        if attr is None:
            return column if LOOKUP_SEP in column else None
    if isinstance(attr, property):
        attr = attr.fget
    return getattr(attr, "admin_order_field", None)


class TenantChangeList(PageShownChangeList):
    """A changelist reads its page alone, then the `list_select_related` relations by id
    (prefetched), never joined: under RLS a joined tenant table hides its organization
    from the planner, which then drove a page of 100 interactions from their leads and
    companies (2.9 s at 1M leads, bench/README.md). Its date hierarchy is walked through
    an index where its admin says so (`walks_dates`, the `indexed_date_hierarchy` tag)."""

    def __init__(self, request, model, *args, **kwargs):
        super().__init__(request, model, *args, **kwargs)
        self.walks_dates = self.model_admin.walks_date_hierarchy(request)

    def apply_select_related(self, qs):
        if isinstance(self.list_select_related, list | tuple) and self.list_select_related:
            return qs.prefetch_related(*self.list_select_related)
        return super().apply_select_related(qs)

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        lookup_params.pop(ATTACHED_BY_VAR, None)
        return lookup_params

    def get_queryset(self, request, exclude_parameters=None):
        """A filter value that cannot be read (a malformed id, a year past any calendar)
        reopens the list unfiltered with `?e=1`, as an unknown filter does. Django turns
        these into that answer for its own filters, but not for a custom filter's query
        or the date hierarchy's bounds, where they were server errors."""
        try:
            return super().get_queryset(request, exclude_parameters)
        except (ValidationError, ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc


def readable_initial(model, name: str, value) -> bool:
    """Whether a value the query string prefills on an add page (`?lead=<id>`) is one its
    model field can read: a malformed id failed only when the page rendered the row it
    names, as a server error."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return True
    if not (field.concrete or field.many_to_many):
        return True
    target = field.target_field if field.is_relation else field
    try:
        for item in value if isinstance(value, list) else [value]:
            target.to_python(item)
    except (ValidationError, ValueError, OverflowError):
        return False
    return True


def _is_scoped(rows) -> bool:
    """Whether a choice field's rows are a model the permission service scopes."""
    return rows is not None and getattr(rows.model, "rbac_resource", None) is not None


def _initial_pks(value) -> list:
    values = value if isinstance(value, list | tuple) else [value]
    return [item.pk if isinstance(item, models.Model) else item for item in values]


def readable_choices(form_class: type[forms.BaseForm], user) -> type[forms.BaseForm]:
    """The form with every related field's choices (a dropdown, an autocomplete, a raw id
    input) limited to the rows `user` may read: Django reads them through the related
    model's default manager, the whole organization's. A new row's value prefilled from
    the query string (`?lead=<id>`) outside them is dropped, not named on the page, and a
    posted one is the form error of a row that does not exist."""

    def __init__(self, *args, **kwargs):
        form_class.__init__(self, *args, **kwargs)
        adding = getattr(getattr(self, "instance", None), "_state", None)
        adding = adding is None or adding.adding
        for name, field in self.fields.items():
            rows = getattr(field, "queryset", None)
            if not isinstance(field, forms.ModelChoiceField) or not _is_scoped(rows):
                continue
            readable = access.visible(user, Action.READ, rows)
            if readable is not rows:  # by id: a scope's joins would repeat rows
                field.queryset = rows.filter(pk__in=readable.values("pk"))
            if adding and not self.is_bound and self.initial.get(name) not in (None, "", []):
                key = field.to_field_name or "pk"
                wanted = _initial_pks(self.initial[name])
                found = {
                    str(pk)
                    for pk in field.queryset.filter(**{f"{key}__in": wanted}).values_list(
                        key, flat=True
                    )
                }
                kept = [pk for pk in wanted if str(pk) in found]
                if len(kept) < len(wanted):
                    if isinstance(field, forms.ModelMultipleChoiceField) and kept:
                        self.initial[name] = kept
                    else:
                        self.initial.pop(name)

    return type(form_class.__name__, (form_class,), {"__init__": __init__})


class ReadableRawIdWidget(widgets.ForeignKeyRawIdWidget):
    """A raw id input whose label names the row only when it is among its field's choices
    (`readable_choices`): Django's reads it by id from the model's default manager, so an
    add page with `?lead=<id>` named any lead of the organization. The name links to the
    row's page only where that page opens for the user (`url_if_readable`): a task
    assigned to a rep may be on a colleague's deal, which the rep may keep but not open.
    The list its lookup opens names the field it serves when that field is `attached_to`
    (`attached_by`), so it lists the rows the field may attach to, as the field's own
    choices do."""

    def __init__(self, *args, request, attached_by: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.attached_by = attached_by

    def url_parameters(self):
        params = super().url_parameters()
        if self.attached_by:
            params[ATTACHED_BY_VAR] = self.attached_by
        return params

    def label_and_url_for_value(self, value):
        rows = getattr(getattr(self, "choices", None), "queryset", None)
        if value in (None, "") or rows is None:
            return super().label_and_url_for_value(value)
        key = self.rel.get_related_field().name
        try:
            row = rows.filter(**{key: value}).first()
        except (ValidationError, ValueError, TypeError, OverflowError):
            row = None
        if row is None:
            return "", ""
        url = url_if_readable(self.request, self.admin_site, row)
        return Truncator(row).words(14), url or ""


class HistoryNotChangeLogMixin:
    """The admin writes no change log (`django_admin_log`): it held tenant data (object
    names, change messages) with no organization, outside RLS, and the runtime role may no
    longer touch it (ADR 0011). What changed is kept by the history every domain model
    already has (django-simple-history, under RLS) and by the audit log; the "History"
    page shows the first, or for a model without history the audit events of the row."""

    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletions(self, request, queryset):
        return None

    def history_view(self, request, object_id, extra_context=None):
        # The row first: a malformed or unknown id is a 404 (simple-history reads its
        # versions by the id unchecked, a server error for one that is no UUID).
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such row.")
        if isinstance(self, SimpleHistoryAdmin):
            return super().history_view(request, object_id, extra_context)
        if not self.has_history_permission(request, obj):
            raise PermissionDenied
        audit_log = reverse(f"{self.admin_site.name}:accounts_auditlog_changelist")
        return HttpResponseRedirect(f"{audit_log}?{urlencode({'target_id': unquote(object_id)})}")

    def has_history_permission(self, request, obj) -> bool:
        """Does the row's "History" open for the user? Its versions do for whoever sees
        the row; the audit events of a row without history only for who reads the audit
        log, or the button would lead to a refusal."""
        if not self.has_view_or_change_permission(request, obj):
            return False
        if isinstance(self, SimpleHistoryAdmin):
            return True
        # By name: the platform layer imports no app's models.
        audit_log = self.admin_site.get_model_admin(apps.get_model("accounts", "AuditLog"))
        return audit_log.has_view_permission(request)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # admin/change_form_object_tools.html leaves the "History" button out when false.
        if change and obj is not None:
            context["history_permission"] = self.has_history_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


# Where a change form's refused save leaves its refusal for the page shown again.
REFUSED_SAVE = "_refused_save"


def concurrency_message(exc: BaseException) -> str | None:
    """What a write that lost a deadlock, or waited past the lock timeout for rows another
    change holds, tells its user (nothing of it was saved); None for any other fault."""
    if outage.is_conflict(exc):
        return outage.CONFLICT_MESSAGE
    if outage.is_lock_timeout(exc):
        return outage.LOCK_TIMEOUT_MESSAGE
    return None


# The code of the refusal `attempt` gives a write that met a concurrent change.
CONCURRENT_CHANGE = "concurrent_change"


def attempt(save: Callable[[], T]) -> tuple[T | None, Exception | None]:
    """Run `save` in a savepoint: what it returned, or why it was refused, all of it
    rolled back (a refusal of the services, a deadlock lost or a lock waited out). A page
    shows that refusal on its form, with what was typed; any other fault propagates."""
    try:
        with transaction.atomic():
            return save(), None
    except REFUSALS as exc:
        return None, exc
    except outage.OUTAGE_ERRORS as exc:
        message = concurrency_message(exc)
        if message is None:
            raise
        return None, ValidationError(message, code=CONCURRENT_CHANGE)


def is_concurrent_change(refusal: Exception) -> bool:
    """Is this `attempt`'s refusal of a write that met a concurrent change (sent again a
    moment later, it may well go through)?"""
    return getattr(refusal, "code", None) == CONCURRENT_CHANGE and isinstance(
        refusal, ValidationError
    )


def each_or_none(rows, change: Callable[[object], T], *, undone: str = "") -> list[T]:
    """`change(row)` for each of `rows`, each in a savepoint (`attempt`): what each
    returned. If any was refused, `RowsRefused` naming every refused row and why, raised
    once all were tried: its caller's transaction, rolled back, then keeps none of them
    (a list's action changes all the rows chosen, or none, and says which stand in the
    way). `undone` leads the message ("Nothing was restored.")."""
    done, refusals = [], []
    for row in rows:
        result, refusal = attempt(partial(change, row))
        if refusal is None:
            done.append(result)
        else:
            refusals.append((row, refusal))
    if refusals:
        raise RowsRefused(refusals, undone)
    return done


def add_refusal(form: forms.BaseForm, exc: Exception) -> None:
    """A refusal on the form as its validation would show it: each message at the field
    it names when the form has that field, above the form otherwise."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, refusal_message(exc, default=NOT_PERMITTED))


def refused(form_class: type[forms.BaseForm], refusal: Exception | None) -> type[forms.BaseForm]:
    """The form as posted, its errors the refusal of its save (`add_refusal`; None: a row
    of an inline beside it). It is not validated again: it was valid when it was saved,
    and its checks may wait once more for a row another change holds (a change form's
    version check, and an inline row's, locks the row)."""

    def full_clean(self):
        self._errors = ErrorDict(renderer=self.renderer)
        self.cleaned_data = {}
        if refusal is not None:
            add_refusal(self, refusal)

    return type(form_class.__name__, (form_class,), {"full_clean": full_clean})


def refused_rows(formset_class: type[forms.BaseFormSet]) -> type[forms.BaseFormSet]:
    """An inline's rows as posted beside a refused form, not validated again either."""

    def full_clean(self):
        self._errors = [form.errors for form in self.forms]
        self._non_form_errors = self.error_class(error_class="nonform", renderer=self.renderer)

    return type(
        formset_class.__name__,
        (formset_class,),
        {"form": refused(formset_class.form, None), "full_clean": full_clean},
    )


class ActionRefusalsShownMixin:
    """A list's bulk action refused, shown on the list with nothing written; for a page
    with no form to save (`RefusalsShownMixin` shows a save's refusal too)."""

    def response_action(self, request, queryset):
        """A bulk action the services refuse (a rule, a row's permission, a unique value
        taken: `RowsRefused` names each row), that lost a deadlock to a concurrent change
        (after its service's own retry), or waited past the lock timeout for rows another
        change holds, shows why as an error message on the list and writes nothing
        (`attempt`). An action the user may not take at all is not among their choices
        (`get_actions`): Django answers "No action selected"."""
        response, refusal = attempt(partial(super().response_action, request, queryset))
        if refusal is None:
            return response
        self.message_user(request, refusal_message(refusal, NOT_PERMITTED), messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())


class RefusalsShownMixin(ActionRefusalsShownMixin):
    """A save the services refuse (a rule, a permission, an invalid transition), or that
    meets a concurrent change (a deadlock, rows held past the lock timeout), writes
    nothing and shows the same form again, as posted, inlines included, with the refusal
    at the field it names or above the form, as a validation error would (not a redirect
    that loses the input). The history page's revert does the same. Opening a page one
    may not open, or posting to one, stays a 403."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        closed = self._closed_since_opened(request, object_id)
        if closed is not None:
            return self._response_closed(request, closed)
        try:
            self._check_may_post(request, object_id)
        except PermissionDenied:
            # Closed between the two reads (a delete committed meanwhile): why, not a 403.
            closed = self._closed_since_opened(request, object_id)
            if closed is None:
                raise
            return self._response_closed(request, closed)
        show = partial(super().changeform_view, request, object_id, form_url, extra_context)

        def save():
            if object_id is not None:
                self.lock_before_saving(request, unquote(object_id))
            return self._save_form(request, show, add=object_id is None)

        response, refusal = attempt(save)
        if refusal is None:
            return response
        # Whatever refused it, a row closed meanwhile is why nothing was saved.
        closed = self._closed_since_opened(request, object_id)
        if closed is not None:
            return self._response_closed(request, closed)
        return self._shown_refused(request, refusal, show)

    def lock_before_saving(self, request, object_id) -> None:
        """Lock, before the form's checks lock anything, the rows its save will lock, in
        the one order every change of them takes (a pipeline and its stages); nothing by
        default. Within the save's savepoint: a lock waited out is its refusal."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        revert = partial(super().history_form_view, request, object_id, version_id, extra_context)
        if request.method != "POST":
            return revert()
        # Saving a version back changes the row: whoever may not change it gets the 403.
        self._check_may_post(request, object_id)
        response, refusal = attempt(partial(self._save_form, request, revert, add=False))
        return response if refusal is None else self._shown_refused(request, refusal, revert)

    def _shown_refused(self, request, refusal: Exception, show):
        # The page again from the same POST, its form refused: Django renders it as it
        # renders an invalid one, bound to what was posted, and saves nothing.
        setattr(request, REFUSED_SAVE, refusal)
        return show()

    def _closed_since_opened(self, request, object_id) -> str | None:
        """Why the row of a change form can no longer be saved from it: deleted since the
        form was opened, or changed since into a state its page no longer lets anyone
        change (a contract signed, a proposal sent); None when neither. Its page then
        shows the row read-only; the message says who changed what. One who may change
        no row of the page at all is not told (the 403 follows)."""
        if object_id is None or not self.has_change_permission(request):
            return None
        row = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        sent = request.POST.get(VERSION_FIELD, "")
        if row is None or not sent or sent == version_of(row.updated_at):
            return None
        deleted = deleted_row(self.model, row.pk)
        if deleted is not None:
            return format_html("{}{}", deleted_message(deleted), self._typed(request, row))
        return None if self.has_change_permission(request, row) else closed_message(row, sent)

    def _typed(self, request, row):
        """What the refused post typed into the row's form (`admin_typed_input`): its page
        is read-only now, so the message shows it. The form as it was offered to change
        the row (`change=False`: a deleted row's own form would exclude every field)."""
        form_class = self.get_form(request, row, change=False)
        return typed_input_html(form_class(request.POST, request.FILES, instance=row))

    def _response_closed(self, request, message: str):
        """Back to the row's page, now read-only, with why nothing was saved: there is no
        form left to show again with the input."""
        self.message_user(request, message, messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def get_form(self, request, *args, **kwargs):
        # Passed on as given: the tenant admins pass `change` by position, Django's user
        # admin takes it by keyword only.
        form = super().get_form(request, *args, **kwargs)
        refusal = getattr(request, REFUSED_SAVE, None)
        return form if refusal is None else refused(form, refusal)

    def get_formsets_with_inlines(self, request, obj=None):
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            if hasattr(request, REFUSED_SAVE):
                formset = refused_rows(formset)
            yield formset, inline

    def _save_form(self, request, save, *, add: bool):
        """The posted form handled in a savepoint. A save that collides on a unique value
        with one committed meanwhile (two people adding the same tag at once: PostgreSQL
        waits for the first, then refuses the second) is handled once more: the form's
        checks then see the first row and say so, the input kept. Colliding again, it is
        refused with a message naming what it would duplicate (`clash_of`: a rule its form
        does not check, such as one identity provider per organization), never a server
        error."""
        try:
            return self._save_form_once(request, save, add=add)
        except IntegrityError as exc:
            if not outage.is_duplicate(exc):
                raise
        try:
            return self._save_form_once(request, save, add=add)
        except IntegrityError as exc:
            if not outage.is_duplicate(exc):
                raise
            # Colliding again, the form checks no such rule: say which.
            clash = clash_of(exc)
            message = f"Saving it would make {clash}." if clash else outage.DUPLICATE_MESSAGE
            raise Refusal(message) from exc

    def _save_form_once(self, request, save, *, add: bool):
        """The posted form handled in a savepoint, once per submission
        (`smartweb.admin_submissions`): a repeat gets the answer of the first."""
        with transaction.atomic():
            try:
                admin_submissions.claim(request)
            except admin_submissions.Repeated as repeat:
                return self._response_repeated(request, repeat.answer, add=add)
            response = save()
            admin_submissions.release_unanswered(request)
            return response

    def response_add(self, request, obj, post_url_continue=None):
        admin_submissions.answered(request, {"pk": str(obj.pk)})
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        admin_submissions.answered(request, {"pk": str(obj.pk)})
        return super().response_change(request, obj)

    def _response_repeated(self, request, answer: dict, *, add: bool):
        """What the first post of this submission answered, shown as Django shows a row
        added or changed (the list, its page, a popup closed with it); a double click
        on Save is not told that the row changed since the page was opened."""
        obj = stored_rows(self.model).filter(pk=answer.get("pk")).first()
        if obj is None:  # deleted since
            return HttpResponseRedirect(self.changelist_url())
        return self.response_add(request, obj) if add else self.response_change(request, obj)

    def changelist_url(self) -> str:
        meta = self.model._meta
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")

    def _check_may_post(self, request, object_id) -> None:
        """The page's own permission, checked before the save: one who may not post here
        at all gets the 403, not the form again (a refusal is about this save)."""
        if object_id is None:
            permitted = self.has_add_permission(request)
        else:
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                raise Http404("No such row.")
            permitted = self.has_change_permission(request, obj)
        if not permitted:
            raise PermissionDenied


class ScopedOwnerFilter(admin.RelatedFieldListFilter):
    """An owner or assignee filter that offers the members whose rows the user may read
    (`access.assignable_users`: all of them, their team's, or themselves), from the
    memberships, then the former members to whom all of them is given, whose rows wait to
    be reassigned. Django's related-only filter found them by reading the owner of every
    row of the list, the whole organization's, at each page load; its parameters
    (`owner__id__exact`, `owner__isnull`) stay, which saved views name. Its "-" (no owner)
    only to whoever reads every row (`unowned_offered`)."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.offers_unowned = unowned_offered(request.user, model_admin.model.rbac_resource)
        super().__init__(field, request, params, model, model_admin, field_path)

    @property
    def include_empty_choice(self):
        return self.offers_unowned and super().include_empty_choice

    def has_output(self):
        # Shown with one person to offer (a rep: themselves), as the lead list's filter.
        return bool(self.lookup_choices) or self.include_empty_choice

    def field_choices(self, field, request, model_admin):
        return owners_offered(request.user, model_admin.model.rbac_resource)


class IndexedValuesFilter(admin.AllValuesFieldListFilter):
    """Django's filter by the values of a column (its parameters unchanged: the company
    list's `country=` and `country__isnull=`), offering the same values, those of the rows
    the user may read. For whoever reads every row they are found by walking an index of
    (organization, that column) one value at a time (`index_walks.distinct_values`):
    Django read every row of the list, the whole organization's, at each page load (the
    companies' countries: 230 ms for the largest organization at 1M leads). A rep's or a
    team's rows are found by id (`smartweb.access`), where each step of a walk would find
    them all again: Django's one DISTINCT over them costs one such read (the busiest rep's
    countries at 1M: 5.9 ms against 12.4 walked, a manager's 47 against 90). For a column
    without NULLs, so indexed."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        if access.scope_for(request.user, Action.READ, model_admin.resource) == Scope.ALL:
            # Django's own lazy choices, walked when the filter is drawn.
            self.lookup_choices = SimpleLazyObject(
                partial(index_walks.distinct_values, self.lookup_choices)
            )


class ReadableRelatedFilter(admin.RelatedFieldListFilter):
    """A filter by a related row (a membership's role) that offers the rows the user may
    read: Django's offers every row of the related table, and named every role of the
    organization to a sales rep, who may read none of them. Offering none, it is not
    shown. Tenant admins filter so by every foreign key to a scoped model
    (`TenantModelAdmin.get_list_filter`)."""

    def field_choices(self, field, request, model_admin):
        rows = field.related_model._default_manager.all()
        readable = {"pk__in": access.visible(request.user, Action.READ, rows).values("pk")}
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=readable)


def owners_offered(user, resource: str) -> list[tuple]:
    """(id, label) of the people an owner or assignee filter of `resource` offers `user`:
    the members whose rows they may read, then the former members to whom all of them is
    given."""
    members = access.assignable_users(user, Action.READ, resource)
    former = access.former_members(user, Action.READ, resource)
    return [(member.pk, people.person_name(member)) for member in members] + [
        (person.pk, gettext("%(user)s (former member)") % {"user": people.person_name(person)})
        for person in former
    ]


def unowned_offered(user, resource: str) -> bool:
    """Does an owner or assignee filter of `resource` offer `user` the rows owned by no
    one? Only when they read every row: an unowned row is in no one's team or own scope,
    so to anyone else that choice opens an empty list."""
    return access.scope_for(user, Action.READ, resource) == Scope.ALL


class MissingRowIs404Mixin:
    """Another organization's row, or one outside the user's scope, is a 404 as in the
    API (never Django's redirect to the list, "… doesn't exist", which tells whether the
    id exists). Every admin page of rows that belong to organizations uses it."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such row.")
        return obj


class FieldBoundsMixin:
    """The bounds the database's check constraints hold a number to, checked on its form
    field (`field_bounds = {"probability": {"min_value": 0, "max_value": 100}}`): the
    constraint would refuse it above the form by its name ("Constraint “…” is violated."),
    the field says it in words ("Ensure this value is less than or equal to 100.")."""

    field_bounds: dict[str, dict] = {}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        kwargs.update(self.field_bounds.get(db_field.name, {}))
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class TenantModelAdmin(
    PageShownMixin,
    LocalDateTimeMixin,
    MissingRowIs404Mixin,
    HistoryNotChangeLogMixin,
    RefusalsShownMixin,
    RefusedDeleteShownMixin,
    FieldBoundsMixin,
    admin.ModelAdmin,
):
    class Media:
        # List pages keep each row on one line (smartweb/static/smartweb/admin_lists.css).
        css = {"all": ["smartweb/admin_lists.css"]}

    formfield_overrides = {models.TextField: {"form_class": MultilineField}}
    # Django counts a filtered list twice: its rows, and every row of the organization's
    # table, deleted ones included, for "(N total)" (at 1M, the 130,497 leads of the
    # largest organization on each page load). The link reads "Show all" instead.
    show_full_result_count = False

    # The user field that makes a row someone's own ("assigned_to", "owner"), if any: it
    # offers whom the user may assign to, and a new row is the user's own by default.
    assignee_field: str | None = None
    # The foreign keys by which a row is attached to a record (an interaction's lead), each
    # with what its service needs on that record: {name: (action, resource)}. Their
    # dropdowns, raw id inputs and autocompletes offer those records alone
    # (`attachable_rows`), not every one the user may only read, whose save is refused.
    attached_to: dict[str, tuple[str, str]] = {}

    @property
    def resource(self) -> str:
        return self.model.rbac_resource

    def action_checkbox(self, obj):
        """Django's checkbox of a list row, written here: Django renders it through the
        form renderer's templates, one render per row (a sixth of a 100-row lead list).
        The same markup (tests/platform/test_admin_rows.py compares it)."""
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    def get_list_display(self, request):
        """The list's columns, a person (an assignee, an owner) shown by name."""
        return [
            people.person_column(self.model, column)
            if isinstance(column, str) and people.is_person_field(self.model, column)
            else column
            for column in super().get_list_display(request)
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = self._foreign_key_field(db_field, request, **kwargs)
        if field is not None and people.is_person_field(self.model, db_field.name):
            people.named_people(field)
        return field

    def _foreign_key_field(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.raw_id_fields:
            meta = self.model._meta
            attached_by = f"{meta.app_label}.{meta.model_name}.{db_field.name}"
            kwargs["widget"] = ReadableRawIdWidget(
                db_field.remote_field,
                self.admin_site,
                request=request,
                using=kwargs.get("using"),
                attached_by=attached_by if db_field.name in self.attached_to else None,
            )
        if db_field.name in self.attached_to:
            field = super().formfield_for_foreignkey(db_field, request, **kwargs)
            if field is not None:
                field.queryset = self.attachable_rows(request, db_field.name, field.queryset)
            return field
        if db_field.name != self.assignee_field:
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        kwargs["queryset"] = access.assignable_users(request.user, Action.UPDATE, self.resource)
        own = access.scope_for(request.user, Action.UPDATE, self.resource) == Scope.OWN
        if own:
            # Whoever may only see their own rows may not leave one unassigned: it would
            # vanish from their lists the moment it is saved.
            kwargs["empty_label"] = None
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        field.required = field.required or own
        return field

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The rows the page points at are linked only where the user may open them, and
        # people are named by name (smartweb.admin_links).
        if "adminform" in context:
            context["adminform"] = links_where_readable(context["adminform"], request)
        if "inline_admin_formsets" in context:
            context["inline_admin_formsets"] = inline_links_where_readable(
                context["inline_admin_formsets"], request
            )
        if add and not self.has_change_permission(request):
            # Django offers "Save and continue editing" on an add page to whoever may view
            # the row: it led whoever may add such rows but not change them (a sales rep's
            # tag, any consent record) to a read-only page.
            context["show_save_and_continue"] = False
        return super().render_change_form(request, context, add, change, form_url, obj)

    def attachable_rows(self, request, field_name: str, rows: QuerySet) -> QuerySet:
        """The `rows` a new row may be attached to by `field_name` (`attached_to`)."""
        needed = self.attached_to.get(field_name)
        if needed is None:
            return rows
        action, resource = needed
        reached = access.visible(request.user, action, rows, resource)
        return rows.filter(pk__in=reached.values("pk"))

    def get_search_results(self, request, queryset, search_term):
        """An autocomplete, or the list a raw id lookup opens, offers the rows its field
        may attach to (`attachable_rows` of the admin of the form it serves)."""
        served = self._field_served(request)
        if served is not None:
            source_admin, field_name = served
            queryset = source_admin.attachable_rows(request, field_name, queryset)
        return super().get_search_results(request, queryset, search_term)

    def _field_served(self, request) -> tuple[TenantModelAdmin, str] | None:
        """(the form's admin, the field's name) of the chooser this request fills: an
        autocomplete (Django has checked its parameters), or a raw id lookup's list
        (`ATTACHED_BY_VAR`; an unknown one narrows nothing, as the list is readable)."""
        if getattr(request.resolver_match, "url_name", None) == "autocomplete":
            served = [request.GET[name] for name in ("app_label", "model_name", "field_name")]
        elif ATTACHED_BY_VAR in request.GET:
            served = request.GET[ATTACHED_BY_VAR].split(".")
        else:
            return None
        try:
            app_label, model_name, field_name = served
            model = apps.get_model(app_label, model_name)
        except (LookupError, ValueError):
            return None
        if not self.admin_site.is_registered(model):
            return None
        source_admin = self.admin_site.get_model_admin(model)
        return (source_admin, field_name) if isinstance(source_admin, TenantModelAdmin) else None

    def get_changeform_initial_data(self, request):
        initial = {
            name: value
            for name, value in super().get_changeform_initial_data(request).items()
            if readable_initial(self.model, name, value)
        }
        if self.assignee_field:
            initial.setdefault(self.assignee_field, request.user.pk)
        return initial

    def get_changelist(self, request, **kwargs):
        return TenantChangeList

    def walks_date_hierarchy(self, request) -> bool:
        """Are the date hierarchy's years, months and days found by walking an index of
        (organization, its field) one at a time (`index_walks.bucket_starts`), rather
        than read from every row of the list as Django reads them? Where the list's rows
        are read from that index: each step of a walk costs what reading the list's first
        row costs. For a date and time field."""
        return False

    def get_list_filter(self, request):
        """The filters, one by a foreign key to a scoped model offering the rows the user
        may read (`ReadableRelatedFilter`)."""
        return [
            (name, ReadableRelatedFilter) if self._is_scoped_relation(name) else name
            for name in super().get_list_filter(request)
        ]

    def _is_scoped_relation(self, name) -> bool:
        if not isinstance(name, str) or LOOKUP_SEP in name:
            return False
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        related = field.related_model if field.is_relation else None
        return related is not None and getattr(related, "rbac_resource", None) is not None

    def get_sortable_by(self, request):
        """The columns that sort by something. Django offers any column whose name has
        "__" in it as sortable, `__str__` too, which then sorts nothing."""
        return [
            column
            for column in self.get_list_display(request)
            if column_ordering(self, column) is not None
        ]

    def get_actions(self, request):
        """The actions the user's role permits: each declares what it needs
        (`allowed_permissions`, each a `has_<name>_permission` of this admin), and one
        that declares nothing is offered to no one. A hidden action posted anyway is not
        among the choices, so Django refuses it ("No action selected")."""
        return {
            name: action
            for name, action in super().get_actions(request).items()
            if getattr(action[0], "allowed_permissions", None)
        }

    def permitted_rows(self, request, queryset, action: str, verb: str = "change"):
        """The selected rows the user may `action`; the others are named by their count
        ("You may not change 3 of the selected leads"), not silently left out."""
        permitted = access.visible(request.user, action, queryset, self.resource)
        refused = queryset.count() - permitted.count()
        if refused:
            plural = self.model._meta.verbose_name_plural
            self.message_user(
                request, f"You may not {verb} {refused} of the selected {plural}.", messages.ERROR
            )
        return permitted

    def get_queryset(self, request):
        return access.visible(request.user, Action.READ, self.base_queryset(), self.resource)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if "fields" not in kwargs:
            kwargs["fields"] = flatten_fieldsets(self.get_fieldsets(request, obj))
        if kwargs["fields"] is not None:  # the version and the key are the form's own
            kwargs["fields"] = [name for name in kwargs["fields"] if name not in HIDDEN_FIELDS]
        form = super().get_form(request, obj, change, **kwargs)
        form = submitted_once(keep_current_choices(readable_choices(form, request.user)))
        return versioned(form) if obj is not None and is_versioned(self.model) else form

    def get_fieldsets(self, request, obj=None):
        """A form shows the key of its submission as a hidden field (at the end), a
        change form the version of its row too; where the row can be changed (elsewhere
        the field would be shown as an empty value)."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            return fieldsets
        shown = flatten_fieldsets(fieldsets)
        hidden = [SUBMISSION_FIELD]
        if obj is not None and is_versioned(self.model):
            hidden.append(VERSION_FIELD)
        hidden = [name for name in hidden if name not in shown]
        if not hidden:
            return fieldsets
        *rest, (name, options) = fieldsets
        return [*rest, (name, {**options, "fields": [*options["fields"], *hidden]})]

    def save_form(self, request, form, change):
        """On a change, the row as stored, not the form's instance: validation has
        written every field of the form onto that instance, as the widgets rendered them
        (a time without its microseconds), and a service that saves the instance it is
        given would write them all. `save_model` hands the services the changed fields
        (`form_changes`) to apply to the stored row."""
        instance = super().save_form(request, form, change)  # also readies form.save_m2m
        return stored_rows(self.model).get(pk=instance.pk) if change else instance

    def base_queryset(self):
        return self.model._default_manager.all()

    def has_module_permission(self, request):
        return access.can(request.user, Action.READ, self.resource)

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, Action.READ, self.resource, obj=obj)

    def has_add_permission(self, request):
        return access.can(request.user, Action.CREATE, self.resource)

    def has_change_permission(self, request, obj=None):
        return access.can(request.user, Action.UPDATE, self.resource, obj=obj)

    def has_delete_permission(self, request, obj=None):
        return access.can(request.user, Action.DELETE, self.resource, obj=obj)


class DeletedListFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"
    default = "active"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("deleted", "Deleted"), ("all", "All")]

    @classmethod
    def state(cls, request) -> str:
        """The rows the list of `request` shows: "active", "deleted" or "all"."""
        return request.GET.get(cls.parameter_name) or cls.default

    def choices(self, changelist):
        value = self.value() or self.default
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or self.default
        if value == "active":
            return queryset.filter(deleted_at__isnull=True)
        if value == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


# Where a history page leaves the row as it is now, which its version's form is saved over.
REVERTED_ROW = "_reverted_row"


def saved_back_over(form_class: type[forms.BaseModelForm], current) -> type[forms.BaseModelForm]:
    """A past version's form, saved back over the row as it is now: it carries the row's
    present version (a change made since the page opened is refused as stale, not every
    revert), and what it changes is what differs from the row as it is. Compared with the
    version it shows, a revert left unedited changed nothing, and the update services,
    given only the changed fields, saved nothing."""

    def __init__(self, *args, **kwargs):
        form_class.__init__(self, *args, **kwargs)
        if VERSION_FIELD in self.fields:
            self.fields[VERSION_FIELD].initial = version_of(current.updated_at)
        if self.is_bound:
            names = [name for name in self.fields if name not in HIDDEN_FIELDS]
            self.initial.update(model_to_dict(current, fields=names))

    return type(form_class.__name__, (form_class,), {"__init__": __init__})


class TenantHistoryAdmin(TenantModelAdmin, SimpleHistoryAdmin):
    """The history page shows each change's values and where it came from. A past version
    is saved back only where reverting is offered: a form posted to a version whose
    revert is disabled is refused, as its page shows no button for it."""

    object_history_template = "admin/history/object_history.html"
    object_history_list_template = "admin/history/object_history_list.html"
    # Where each change came from: (field of the history row, column label).
    history_sources = [
        ("history_ip_address", "IP address"),
        ("history_user_agent", "User agent"),
        ("history_request_id", "Request ID"),
    ]

    def history_view(self, request, object_id, extra_context=None):
        context = {"history_columns": self.history_sources, **(extra_context or {})}
        return super().history_view(request, object_id, context)

    def get_historical_record_context_helper(self, request, historical_record):
        return HistoryValues(
            self.model,
            historical_record,
            empty=self.get_empty_value_display(),
            unread=self.history_value_unread(request),
        )

    def history_value_unread(self, request):
        """`HistoryValues.unread` for the user of `request`; None: every value is shown."""
        return None

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        current = self.get_object(request, unquote(object_id))  # a 404 for an unknown id
        try:
            self.model.history.model._meta.pk.to_python(version_id)
        except ValidationError as exc:
            raise Http404("No such version.") from exc
        if request.method == "POST" and self.revert_disabled(request):
            raise PermissionDenied
        setattr(request, REVERTED_ROW, current)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        current = getattr(request, REVERTED_ROW, None)
        return form if current is None else saved_back_over(form, current)

    def revert_disabled(self, request, obj=None):
        """Also where the row as it is now may not be changed (deleted, or a contract
        signed since the version shown: simple-history asks of the version alone): saved
        back over it, the version would be refused with a 403, so no "Revert" is shown."""
        current = getattr(request, REVERTED_ROW, None)
        if current is not None and not self.has_change_permission(request, current):
            return True
        return super().revert_disabled(request, obj)

    def render_history_view(self, request, template, context, **kwargs):
        """A version the user may not revert to is shown as a row they may only view is:
        its values, not fields to type in that no button saves. The rows a version points
        at, and who made each change, are linked only where the user may open them, as
        on the row's own page (`smartweb.admin_links`)."""
        shown = context.get("adminform")
        if context.get("revert_disabled") and shown is not None:
            names = [n for n in flatten_fieldsets(shown.fieldsets) if n not in HIDDEN_FIELDS]
            shown = helpers.AdminForm(shown.form, shown.fieldsets, {}, names, model_admin=self)
        if shown is not None:
            context["adminform"] = links_where_readable(shown, request)
        if "page_obj" in context:
            self._link_who_changed(request, context["page_obj"])
        return super().render_history_view(request, template, context, **kwargs)

    def _link_who_changed(self, request, records) -> None:
        """Each history row's `history_user_url`: its user's page, if it opens for the
        user (a former member's does not)."""
        urls: dict = {None: None}
        for record in records:
            if record.history_user_id not in urls:
                urls[record.history_user_id] = url_if_readable(
                    request, self.admin_site, record.history_user
                )
            record.history_user_url = urls[record.history_user_id]


class TenantOwnedModelAdmin(TenantHistoryAdmin):
    """Soft-deleted rows are listed under the "Deleted" state and can be restored."""

    actions = ["restore_selected"]

    def base_queryset(self):
        return self.model.all_objects.all()

    def get_list_filter(self, request):
        return [DeletedListFilter, *super().get_list_filter(request)]

    def get_search_results(self, request, queryset, search_term):
        """Autocomplete offers live rows only: the trash is listed, never chosen."""
        if getattr(request.resolver_match, "url_name", None) == "autocomplete":
            queryset = queryset.filter(deleted_at__isnull=True)
        return super().get_search_results(request, queryset, search_term)

    @admin.action(description="Restore selected deleted rows", permissions=["delete"])
    def restore_selected(self, request, queryset):
        permitted = self.permitted_rows(request, queryset, Action.DELETE, "restore")
        if permitted.exists():
            self.restore_rows(request, permitted)

    def restore_rows(self, request, rows) -> None:
        """Restore each deleted row of `rows` (`restore_row`), or none: a restore refused
        (a name another row has taken since it was deleted: `restore_deleted`) is named
        on the list with why, and nothing is restored (`each_or_none`). A row restored
        meanwhile, or with its parent earlier in the set, is left as it is, not counted."""
        restored = each_or_none(
            rows.filter(deleted_at__isnull=False),
            partial(self._restore_unless_live, request),
            undone="Nothing was restored.",
        )
        self.message_user(request, f"Restored {sum(restored)} row(s).", messages.SUCCESS)

    def restore_row(self, request, row) -> None:
        """Restore one deleted row, and the rows deleted with it; `RestoredMeanwhile` when
        it is live by the time its lock is held."""
        row.restore()

    def _restore_unless_live(self, request, row) -> bool:
        with contextlib.suppress(RestoredMeanwhile):
            self.restore_row(request, row)
        return not is_deleted(row)

    def delete_queryset(self, request, queryset):
        """The list's "Delete selected": each selected row the user may delete, as from
        its own page (`delete_model`, through the admin's service where it has one: its
        checks, and what it does besides, such as a lead rescored). A row deleted
        meanwhile is left as it is; if any row is refused, none is deleted
        (`each_or_none`, smartweb.admin_deletes)."""
        rows = access.visible(request.user, Action.DELETE, queryset).filter(deleted_at__isnull=True)
        each_or_none(rows, partial(self._delete_unless_gone, request))

    def _delete_unless_gone(self, request, row) -> None:
        with contextlib.suppress(DeletedMeanwhile):
            self.delete_model(request, row)

    def get_deleted_objects(self, objs, request):
        """What the delete takes along, rows in the trash left out: they stay as they are,
        and are not refused as rows the user may not delete (smartweb.admin_deleted_rows)."""
        return live_deleted_objects(objs, request, self.admin_site)

    # A deleted row is shown, neither changed nor deleted again: restored first.
    def has_change_permission(self, request, obj=None):
        return not is_deleted(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not is_deleted(obj) and super().has_delete_permission(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """A deleted row's page says so (a save posted to it is refused with who deleted
        it: `RefusalsShownMixin`)."""
        if request.method == "POST" or object_id is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if is_deleted(obj):
            opts = obj._meta
            self.message_user(
                request,
                f"This {opts.verbose_name} is deleted: restore it (the list's deleted "
                f"{opts.verbose_name_plural}) to change it.",
                messages.WARNING,
            )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        """A row deleted already (by someone else meanwhile, or by the same click sent
        twice) is reported on the list, not deleted again nor answered "Not Found"."""
        obj = self.get_object(request, unquote(object_id))
        if not is_deleted(obj):
            try:
                return super().delete_view(request, object_id, extra_context)
            except (DeletedMeanwhile, PermissionDenied):
                # Refused as a delete of a deleted row, if another delete came first.
                obj = stored_rows(self.model).get(pk=obj.pk)
                if not is_deleted(obj):
                    raise
        by = f" by {obj.deleted_by}" if obj.deleted_by else ""
        self.message_user(
            request, f"This {obj._meta.verbose_name} was deleted{by} already.", messages.WARNING
        )
        return HttpResponseRedirect(self.changelist_url())


def is_deleted(obj) -> bool:
    return getattr(obj, "deleted_at", None) is not None


class PlatformOnlyAdminMixin:
    """Pages of global tables that hold every organization's data (the job queue):
    platform super admins only (`access.platform_admin`), whatever Django permissions a staff
    user holds. It only ever narrows what the page itself allows them: the job pages
    show a job, and its list's actions retry or cancel it; none edits or deletes one
    (procrastinate's models refuse it, and a job deleted under its running worker is
    lost to it)."""

    platform_only = True

    def has_module_permission(self, request):
        return access.platform_admin(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return access.platform_admin(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return access.platform_admin(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return access.platform_admin(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return access.platform_admin(request) and super().has_delete_permission(request, obj)


class JobEventInline(ReadOnlyAdminMixin, ProcrastinateEventInline):
    """A job's events as the queue wrote them, in order."""

    ordering = ["at", "id"]


# A job's status, as a refused action names it.
JOB_STATES = {
    Status.TODO.value: "is waiting to run",
    Status.DOING.value: "is running",
    Status.SUCCEEDED.value: "has succeeded",
    Status.FAILED.value: "has failed",
    Status.CANCELLED.value: "was cancelled",
    Status.ABORTING.value: "is being aborted",
    Status.ABORTED.value: "was aborted",
}


class PlatformJobAdmin(
    PageShownMixin,
    ActionRefusalsShownMixin,
    HistoryNotChangeLogMixin,
    PlatformOnlyAdminMixin,
    ProcrastinateJobAdmin,
):
    """The job queue. Its actions retry failed jobs and cancel waiting ones, all the jobs
    chosen or none, each refused one named with why (`each_or_none`): a running job is
    neither put back in the queue beside its worker nor said to be cancelled, and a
    second click finds the jobs of the first retried or cancelled already. Procrastinate's
    "Abort" is not offered: it asks a running job to stop, and no job here asks whether
    it should (`context.should_abort`), so the job ran on."""

    inlines = [JobEventInline]
    actions = ["retry_selected", "cancel_selected"]
    # Not by lock nor queueing lock: most name a record (an AI call, a webhook endpoint),
    # and their filters listed one link for each record ever queued for (7.7 MB of page
    # at 100,000 AI calls). The search box finds a job by either instead.
    list_filter = ["status", "queue_name", "task_name", "scheduled_at", "priority"]
    search_fields = ["=lock", "=queueing_lock"]
    search_help_text = "A lock or queueing lock, whole (crm.ai_call:<id>)."

    def has_history_permission(self, request, obj) -> bool:
        """A job's history is its events, on its page: no organization's audit log holds
        it (the "History" button led to the current one's, filtered by the job's id)."""
        return False

    def has_queue_permission(self, request) -> bool:
        """May the user retry and cancel jobs? Whoever may see them."""
        return self.has_view_permission(request)

    @admin.action(description="Retry selected failed jobs", permissions=["queue"])
    def retry_selected(self, request, queryset):
        retried = each_or_none(_locked(queryset), _retry, undone="Nothing was retried.")
        self.message_user(request, f"Retried {len(retried)} job(s).", messages.SUCCESS)

    @admin.action(description="Cancel selected waiting jobs", permissions=["queue"])
    def cancel_selected(self, request, queryset):
        cancelled = each_or_none(_locked(queryset), _cancel, undone="Nothing was cancelled.")
        self.message_user(request, f"Cancelled {len(cancelled)} job(s).", messages.SUCCESS)


def _locked(jobs):
    """The jobs as they are once locked: no worker takes or ends one meanwhile, and a
    second click reads what the first did."""
    return jobs.select_for_update().order_by("pk")


def _retry(job) -> None:
    if job.status != Status.FAILED.value:
        raise Refusal(f"only a failed job is retried, and this one {JOB_STATES[job.status]}")
    try:
        queue.job_manager.retry_job_by_id(job.id, timezone.now())
    except UniqueViolation as exc:  # the one unique value of a waiting job
        raise Refusal(
            f"a job with its queueing lock ({job.queueing_lock}) waits to run: it does the "
            "same work"
        ) from exc


def _cancel(job) -> None:
    if job.status != Status.TODO.value:
        raise Refusal(
            f"only a job waiting to run is cancelled, and this one {JOB_STATES[job.status]}"
        )
    queue.job_manager.cancel_job_by_id(job.id)


# Roles and grants are the project's own (accounts); Django's global groups are unused,
# and a page of them would let a staff user edit rows shared by every organization.
admin.site.unregister(Group)
admin.site.unregister(ProcrastinateJob)
admin.site.register(ProcrastinateJob, PlatformJobAdmin)
