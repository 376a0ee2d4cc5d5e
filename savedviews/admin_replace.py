"""Replacing a saved view's filters with the list's as it is filtered now, from the
list's Views box: for one's own views only (a colleague's shared view is theirs to
change), after a page that shows what the view holds and what it will hold."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse

from savedviews import admin_params, lists, selectors, services
from smartweb.errors import refusal_message

CONFIRMED = "confirmed"


def query_summary(query: dict) -> str:
    """A view's filters as a line of text: "status = new; assignee = …"."""
    return "; ".join(f"{name} = {', '.join(values)}" for name, values in query.items())


def replace_view(request, model_admin, object_id):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    view = selectors.views_for(user=request.user).filter(pk=object_id).first()
    if view is None:  # another organization's, a colleague's private view, none
        raise Http404("No such view.")
    if view.owner_id != request.user.pk:
        raise PermissionDenied  # a colleague's shared view: theirs to change
    params = QueryDict(request.POST.get("query", ""))
    query, lost = admin_params.from_admin(
        view.resource, params, lists.model_admin_of(view.resource), request
    )
    back = f"{lists.changelist_url(view.resource)}?{params.urlencode()}"
    if request.POST.get(CONFIRMED) != "yes":
        context = {
            **model_admin.admin_site.each_context(request),
            "title": f"Replace the view “{view.name}”?",
            "view": view,
            "before": query_summary(view.query),
            "after": query_summary(query),
            "lost": lost,
            "query": params.urlencode(),
            "back": back,
            "opts": model_admin.model._meta,
        }
        return TemplateResponse(request, "admin/savedviews/replace.html", context)
    try:
        view = services.saved_view_update(view=view, acting_user=request.user, query=query)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"The view was not replaced: {refusal_message(exc)}")
        return HttpResponseRedirect(back)
    note = f" Not kept (the API has no such filter): {', '.join(lost)}." if lost else ""
    messages.success(request, f"Replaced the view “{view.name}” with this list’s filters.{note}")
    url, _ = lists.open_url(view, request)
    return HttpResponseRedirect(url)
