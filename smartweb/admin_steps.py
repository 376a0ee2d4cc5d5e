"""Next steps on a change page: the workflow steps allowed now, each a small form.

A model admin lists its `steps`; its change page shows a button for each step the user
may take on this row now (their permission and the row's state), and each step is a page
of its own (`<id>/steps/<name>/`) whose form runs the same service function as the API.
Another organization's row is a 404, a step the user may not take a 403; a step the
services refuse, or one that meets a concurrent change, shows why on the form (at the
field it names), with the user's input kept, as a refused change form does.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from smartweb import admin_submissions
from smartweb.admin import add_refusal, attempt
from smartweb.admin_submissions import submitted_once
from smartweb.errors import NOT_PERMITTED, Refusal

STEP_TEMPLATE = "admin/step_form.html"


class Step:
    """One workflow step of a row. Subclasses say who may take it (`permitted`), when
    (`available`), what it asks (`form_class`, `form_kwargs`) and do it (`run`, which
    calls a service and returns the row to show next, or None for this one). A step done
    on a page that exists already (a convert page, an add form) gives its `link`."""

    name = ""
    label = ""
    done = ""
    # Shown above the form of a step that cannot be undone.
    warning = ""
    button = ""
    form_class: type[forms.Form] = forms.Form
    # False: offered by a module of its own on the page (the record's shares), not among
    # the next steps.
    listed = True

    def permitted(self, user, obj) -> bool:
        raise NotImplementedError

    def available(self, obj) -> bool:
        return True

    def form_kwargs(self, request, obj) -> dict:
        return {}

    def run(self, request, obj, data: dict):
        raise NotImplementedError

    def link(self, obj) -> str | None:
        return None

    @property
    def not_now(self) -> str:
        """Why the step is refused when the row's state does not allow it now."""
        return f"“{self.label}” is not possible now."


class StepsAdminMixin:
    """Mix into a `TenantModelAdmin` before it; set `steps`."""

    steps: tuple[Step, ...] = ()

    def _step_url_name(self) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_step"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/steps/<slug:name>/",
                self.admin_site.admin_view(self.step_view),
                name=self._step_url_name(),
            ),
            *super().get_urls(),
        ]

    def steps_closed(self, obj) -> str | None:
        """Why no step at all may be taken on `obj` (every one would be refused), or None."""
        return None

    def next_steps(self, request, obj) -> list[tuple[Step, str]]:
        """The steps the user may take on `obj` now, each with where its button leads."""
        if self.steps_closed(obj):
            return []
        return self._steps_offered(request, obj)

    def _steps_offered(self, request, obj) -> list[tuple[Step, str]]:
        offered = []
        for step in self.steps:
            if step.listed and step.available(obj) and step.permitted(request.user, obj):
                url = step.link(obj) or reverse(
                    f"admin:{self._step_url_name()}", args=[obj.pk, step.name]
                )
                offered.append((step, url))
        return offered

    def _step(self, name: str) -> Step | None:
        return next((step for step in self.steps if step.name == name), None)

    def take_step(self, request, obj, name: str):
        """Take a step on `obj` from a list action, with its form empty: refused unless
        the row's page would offer it now (the same checks as its button)."""
        step = self._step(name)
        if not step.permitted(request.user, obj):
            raise PermissionDenied(NOT_PERMITTED)
        if not step.available(obj):
            raise Refusal(step.not_now)
        form = step.form_class({}, **step.form_kwargs(request, obj))
        if not form.is_valid():
            raise ValidationError([error for errors in form.errors.values() for error in errors])
        return step.run(request, obj, form.cleaned_data)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            closed = self.steps_closed(obj)
            if closed and request.method == "GET":  # a refused save shows its own error
                messages.warning(request, closed)
            context["next_steps"] = [] if closed else self._steps_offered(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def step_view(self, request, object_id, name):
        obj = self.get_object(request, unquote(object_id))  # 404 outside the user's reach
        if obj is None:
            raise Http404("No such row.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        step = self._step(name)
        if step is None:
            raise Http404("No such step.")
        if not step.permitted(request.user, obj):
            raise PermissionDenied
        change_url = reverse(
            f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_change",
            args=[obj.pk],
        )
        if request.method == "POST":
            # Before the step's own checks: a repeat of a step taken is answered as the
            # first post was, not refused as a step no longer possible.
            try:
                admin_submissions.claim(request)
            except admin_submissions.Repeated as repeat:
                return admin_submissions.replayed(request, repeat.answer)
        response = self._step_page(request, obj, step, change_url)
        admin_submissions.release_unanswered(request)
        return response

    def _step_page(self, request, obj, step: Step, change_url: str):
        posted = request.method == "POST"
        if not step.available(obj) and not posted:
            self.message_user(request, step.not_now, messages.ERROR)
            return HttpResponseRedirect(change_url)
        # Bound on a POST even when empty: a confirmation has no fields.
        data = request.POST if posted else None
        form = submitted_once(step.form_class)(data, **step.form_kwargs(request, obj))
        # Refused (the row changed since the page was opened, the services' rules, a
        # concurrent change): the form again with what was typed and why.
        if posted and not step.available(obj):
            form.add_error(None, step.not_now)
        elif posted and form.is_valid():
            result, refusal = attempt(lambda: step.run(request, obj, form.cleaned_data))
            if refusal is None:
                location = self._after(result) or change_url
                return admin_submissions.redirected(request, location, step.done)
            add_refusal(form, refusal)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{step.label}: {obj}",
            "opts": self.model._meta,
            "original": obj,
            "step": step,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, STEP_TEMPLATE, context)

    @staticmethod
    def _after(result) -> str | None:
        if result is None or getattr(result, "pk", None) is None:
            return None
        meta = result._meta
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[result.pk])
