"""Which admin list each saved view resource is, and the link that opens a view there."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from savedviews import admin_params
from savedviews.models import SavedView, ViewResource

MODELS = {
    ViewResource.LEADS: "leads.Lead",
    ViewResource.OPPORTUNITIES: "crm.Opportunity",
    ViewResource.TASKS: "crm.Task",
}


def model_admin_of(resource: str):
    return admin.site._registry[apps.get_model(MODELS[ViewResource(resource)])]


def resource_of(model) -> str | None:
    label = model._meta.label
    return next((r for r, name in MODELS.items() if name == label), None)


def changelist_url(resource: str) -> str:
    opts = apps.get_model(MODELS[ViewResource(resource)])._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def open_url(view: SavedView, request) -> tuple[str, list[str]]:
    """The admin list of the view with its filters, and what it cannot show there."""
    query, lost = admin_params.to_admin(
        view.resource, view.query, model_admin_of(view.resource), request
    )
    return f"{changelist_url(view.resource)}?{query}", lost
