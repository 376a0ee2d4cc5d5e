"""The "Send an email" step of the lead page: a template, or a subject and body of one's
own, sent through the service the API runs (a refusal, such as a lead that may not be
written to, is shown on the form with the input kept)."""

from __future__ import annotations

from django import forms

from mailing import fields, services
from mailing.models import EmailTemplate
from smartweb.admin_steps import Step


class SendEmailForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.none(),
        required=False,
        help_text="Its subject and body are used; or leave it empty and write them below.",
    )
    subject = forms.CharField(required=False, max_length=200)
    body = forms.CharField(
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=f"Fields: {fields.KNOWN}.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read while the page's request holds the organization's context.
        self.fields["template"].queryset = EmailTemplate.objects.order_by("name")


class SendEmailStep(Step):
    name, label, done = "send-email", "Send an email", "Email queued for sending."
    form_class = SendEmailForm

    def permitted(self, user, obj) -> bool:
        return services.may_email(user, obj)

    def available(self, obj) -> bool:
        return obj.deleted_at is None and bool(obj.contact_email)

    def run(self, request, obj, data):
        services.email_send_to_lead(lead=obj, acting_user=request.user, **data)
