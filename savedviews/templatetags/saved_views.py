"""`{% saved_views_box cl %}`: on the lists of leads, opportunities and tasks, the views
the user may open (their own and their team's shared ones), each a link that restores
its filters, and a form to save the list as it is filtered now."""

from __future__ import annotations

from django import template

from savedviews import lists, selectors
from smartweb import access
from smartweb.rbac import Action, Resource

register = template.Library()


@register.inclusion_tag("admin/savedviews/box.html", takes_context=True)
def saved_views_box(context, cl):
    request = context["request"]
    resource = lists.resource_of(cl.model)
    user = request.user
    if resource is None or not access.can(user, Action.READ, Resource.SAVED_VIEWS):
        return {"show": False}
    views = [
        {"view": view, "url": lists.open_url(view, request)[0], "mine": view.owner_id == user.pk}
        for view in selectors.views_for(user=user, resource=resource)
    ]
    return {
        "show": True,
        "views": views,
        "resource": resource,
        "query": request.GET.urlencode(),
        "may_save": access.can(user, Action.CREATE, Resource.SAVED_VIEWS),
        "may_replace": access.can(user, Action.UPDATE, Resource.SAVED_VIEWS),
        "csrf_token": context.get("csrf_token"),
    }
