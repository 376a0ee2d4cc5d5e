"""Email in the admin: the organization's templates (written through the services, an
unknown field refused on the form), the log of sent and received mail (read-only), and
from that log the inbound webhook's signing secret."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from mailing import fields as template_fields
from mailing import services
from mailing.models import EmailMessage, EmailTemplate, InboundSecret
from smartweb.admin import ReadOnlyAdminMixin, TenantModelAdmin, TenantOwnedModelAdmin, adopt
from smartweb.admin_secrets import SecretPage, SecretPageAdminMixin
from smartweb.forms import form_changes
from smartweb.rbac import Resource

INBOUND_SECRET_PAGE = SecretPage(
    title="Inbound email secret",
    sender="The email provider",
    webhook_path="/api/v1/webhooks/inbound-email/",
    resource=Resource.ORGANIZATIONS,
    model=InboundSecret,
    rotate=services.inbound_secret_rotate,
    without="replies and bounces the provider posts are refused until one is created.",
    back=("admin:mailing_emailmessage_changelist", "Email messages"),
    url_path="inbound-secret/",
    url_name="mailing_emailmessage_inbound_secret",
    link="Inbound secret",
)


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
class EmailMessageAdmin(SecretPageAdminMixin, ReadOnlyAdminMixin, TenantModelAdmin):
    secret_page = INBOUND_SECRET_PAGE
    list_display = ["subject", "to_email", "direction", "kind", "status", "attempts", "created_at"]
    list_filter = ["direction", "kind", "status"]
    search_fields = ["subject", "to_email"]
    list_select_related = ["lead"]
