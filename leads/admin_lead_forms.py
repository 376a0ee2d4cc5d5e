"""The lead-capture forms page of the back office: the organization's admins set a
form up (fields, consent, assignment, origins) and copy its embed snippet. Writes go
through leads.lead_forms, like the API's."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils.html import escape

from compliance.choices import ConsentPurpose
from leads import lead_forms
from leads.choices import FormField
from leads.models import LeadForm
from smartweb.admin import TenantOwnedModelAdmin, adopt
from smartweb.forms import form_changes

# Choices shown as boxes to tick instead of a comma-separated text.
_MULTIPLE = {"consent_purposes": ConsentPurpose, "required_fields": FormField}


def embed_snippets(request, form: LeadForm) -> dict[str, str]:
    """The HTML an organization pastes into its site: the hosted form in an <iframe>, or
    its own <form> posting to the form page (field names as the API documents them)."""
    page = escape(request.build_absolute_uri(reverse("lead-form-page", args=[form.public_key])))
    # Plain text (the page escapes it once more to show it), whose values are escaped for
    # the site it is pasted into: a name with a quote must not end the attribute.
    iframe = (
        f'<iframe src="{page}" title="{escape(form.name)}" width="100%" height="640"'
        ' style="border:0"></iframe>'
    )
    own_form = "\n".join(
        [
            f'<form method="post" action="{page}">',
            '  <input name="contact_name" placeholder="Name">',
            '  <input name="contact_email" type="email" placeholder="Email">',
            '  <input name="contact_phone" type="tel" placeholder="Phone">',
            '  <input name="company_name" placeholder="Company">',
            '  <textarea name="message"></textarea>',
            '  <label><input name="consent" type="checkbox" value="true"> …consent text…</label>',
            "  <!-- the honeypot: hidden from people, left empty -->",
            '  <input name="homepage" style="display:none" tabindex="-1" autocomplete="off">',
            '  <button type="submit">Send</button>',
            "</form>",
        ]
    )
    return {"iframe": iframe, "form": own_form}


@admin.register(LeadForm)
class LeadFormAdmin(TenantOwnedModelAdmin):
    list_display = ["name", "is_active", "assignment", "public_key", "created_at"]
    list_filter = ["is_active", "assignment"]
    search_fields = ["name"]
    readonly_fields = ["public_key"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fields = [
        "name",
        "is_active",
        "public_key",
        "title",
        "required_fields",
        "consent_text",
        "consent_purposes",
        "assignment",
        "success_message",
        "redirect_url",
        "allowed_origins",
    ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in _MULTIPLE:
            return forms.TypedMultipleChoiceField(
                choices=_MULTIPLE[db_field.name].choices,
                widget=forms.CheckboxSelectMultiple,
                required=False,
                label=db_field.verbose_name.capitalize(),
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        form = self.get_object(request, object_id)
        if form is not None:
            extra_context = {**(extra_context or {}), "embed": embed_snippets(request, form)}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if change:
            data = form_changes(form, lead_forms.FORM_SETTINGS)
            adopt(obj, lead_forms.lead_form_update(form=obj, acting_user=request.user, data=data))
        else:
            data = {
                name: form.cleaned_data[name]
                for name in lead_forms.FORM_SETTINGS
                if name in form.cleaned_data
            }
            adopt(obj, lead_forms.lead_form_create(acting_user=request.user, data=data))

    def delete_model(self, request, obj):
        lead_forms.lead_form_delete(form=obj, acting_user=request.user)
