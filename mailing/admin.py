"""Email in the admin: the organization's templates (written through the services, an
unknown field refused on the form), and the log of sent and received mail (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from mailing import fields as template_fields
from mailing import services
from mailing.models import EmailMessage, EmailTemplate
from smartweb.admin import ReadOnlyAdminMixin, TenantModelAdmin, TenantOwnedModelAdmin, adopt
from smartweb.forms import form_changes


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "subject", "body"]
        help_texts = {"body": f"Fields: {template_fields.KNOWN}."}

    def _checked(self, name: str) -> str:
        value = self.cleaned_data[name]
        try:
            template_fields.check(value, name)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict[name]) from exc  # on this field alone
        return value

    def clean_subject(self):
        return self._checked("subject")

    def clean_body(self):
        return self._checked("body")


@admin.register(EmailTemplate)
class EmailTemplateAdmin(TenantOwnedModelAdmin):
    form = EmailTemplateForm
    list_display = ["name", "subject", "updated_at"]
    search_fields = ["name", "subject"]

    def save_model(self, request, obj, form, change):
        changes = form_changes(form, services.TEMPLATE_FIELDS)
        if change:
            adopt(obj, services.template_update(template=obj, acting_user=request.user, **changes))
        else:
            adopt(obj, services.template_create(acting_user=request.user, **changes))

    def delete_model(self, request, obj):
        services.template_delete(template=obj, acting_user=request.user)


@admin.register(EmailMessage)
class EmailMessageAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ["subject", "to_email", "direction", "kind", "status", "attempts", "created_at"]
    list_filter = ["direction", "kind", "status"]
    search_fields = ["subject", "to_email"]
    list_select_related = ["lead"]
