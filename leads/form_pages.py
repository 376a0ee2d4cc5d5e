"""`/forms/{public_key}/`: the embeddable HTML form of a lead-capture form, standalone
(no admin styles, no scripts), meant for an <iframe> on the organization's site or as
the target of its own <form>. GET shows the form; POST submits it through the same
checks as the API (leads.form_intake) and shows the thank-you message, sends the visitor
to the form's redirect URL (303), or shows the form again with its errors.

No session and no CSRF token: nobody signs in here, the posting site is another one, and
the honeypot and rate limits stand where a token would. Framing is allowed to the form's
allowed origins (to any site when it lists none) by Content-Security-Policy.
"""

from __future__ import annotations

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers

from leads import form_intake, lead_forms
from leads.choices import FormField
from leads.models import LeadForm
from smartweb.tenancy.context import tenant_context

# The fields in the order the page shows them, with their input types.
INPUTS = (
    (FormField.CONTACT_NAME, "text", "name"),
    (FormField.CONTACT_EMAIL, "email", "email"),
    (FormField.CONTACT_PHONE, "tel", "tel"),
    (FormField.COMPANY_NAME, "text", "organization"),
    (FormField.WEBSITE, "url", "url"),
    (FormField.CITY, "text", "address-level2"),
)


# A box's posted value -> ticked or not, read as DRF reads a form's text: "on" (a box
# with no value), "true" (ours), "1", "yes"… (a site's own form); "off", "false"…
_BOX = {
    **dict.fromkeys(serializers.BooleanField.FALSE_VALUES, False),
    **dict.fromkeys(serializers.BooleanField.TRUE_VALUES, True),
}


def _posted(request) -> dict:
    """The form's post in the types the submission takes (leads.form_intake): text as
    posted, the consent box as a boolean. A value no box posts is left for the intake to
    refuse."""
    data = request.POST.dict()
    if FormField.CONSENT in data:
        data[FormField.CONSENT] = _BOX.get(data[FormField.CONSENT], data[FormField.CONSENT])
    return data


def _frame_ancestors(form: LeadForm | None) -> str:
    origins = form.allowed_origins if form is not None else []
    return "frame-ancestors " + (" ".join(["'self'", *origins]) if origins else "*")


def _page(request, form: LeadForm, *, status: int, values=None, errors=None, done=False):
    values = values or {}
    errors = errors or {}
    fields = [
        {
            "name": name,
            "label": FormField(name).label,
            "type": kind,
            "autocomplete": autocomplete,
            "required": name in form.required_fields,
            "value": values.get(name, ""),
            "errors": errors.get(name, []),
        }
        for name, kind, autocomplete in INPUTS
    ]
    context = {
        "form": form,
        "fields": fields,
        "message": values.get("message", ""),
        "message_required": FormField.MESSAGE in form.required_fields,
        "consent_required": FormField.CONSENT in form.required_fields,
        "errors": errors,
        "other_errors": [m for k, v in errors.items() if k not in FormField.values for m in v],
        "honeypot": form_intake.HONEYPOT_FIELD,
        "done": done,
    }
    response = render(request, "lead_forms/form.html", context, status=status)
    response["Content-Security-Policy"] = _frame_ancestors(form)
    return response


@never_cache
@csrf_exempt
@xframe_options_exempt
def lead_form_page(request, public_key: str):
    if request.method == "POST":
        answer = form_intake.receive(request, public_key, lambda: _posted(request))
        if answer.accepted:
            if answer.form.redirect_url:
                return HttpResponseRedirect(answer.form.redirect_url, status=303)
            return _page(request, answer.form, status=200, done=True)
        if answer.status == 400:
            return _page(
                request, answer.form, status=400, values=request.POST, errors=answer.details
            )
        response = render(
            request, "lead_forms/refused.html", {"message": answer.message}, status=answer.status
        )
        if answer.retry_after is not None:
            response["Retry-After"] = str(answer.retry_after)
        return response
    organization = form_intake.find_organization(public_key)
    if organization is None:
        raise Http404("No such form.")
    with tenant_context(organization):
        form = lead_forms.active_form(public_key)
    if form is None:
        raise Http404("No such form.")
    return _page(request, form, status=200)
