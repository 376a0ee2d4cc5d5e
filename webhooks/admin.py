"""Webhooks in the admin, for the organization's admins: endpoints written through the
services (the secret write-only: a new one is shown once), and the delivery log."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from smartweb.admin import ReadOnlyAdminMixin, TenantModelAdmin, TenantOwnedModelAdmin, adopt
from smartweb.forms import form_changes
from webhooks import services
from webhooks.choices import EventType
from webhooks.models import Delivery, DeliveryAttempt, Endpoint


class EndpointForm(forms.ModelForm):
    # Plain text: the service checks the URL (shape and addresses) and says what is wrong.
    url = forms.CharField(max_length=services.URL_MAX_LENGTH)
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )
    secret = forms.CharField(
        required=False,
        min_length=services.SECRET_MIN_LENGTH,
        widget=forms.PasswordInput(render_value=False),
        help_text="The signing secret. Left empty: kept as it is (a new endpoint gets a new"
        " one, shown once).",
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "event_types", "is_active", "secret"]


@admin.register(Endpoint)
class EndpointAdmin(TenantOwnedModelAdmin):
    form = EndpointForm
    list_display = ["url", "is_active", "consecutive_failures", "disabled_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    fields = ["url", "description", "event_types", "is_active", "secret"]

    def save_model(self, request, obj, form, change):
        changes = form_changes(form, services.ENDPOINT_FIELDS)
        if not changes.get("secret"):
            changes.pop("secret", None)
        if change:
            adopt(obj, services.endpoint_update(endpoint=obj, acting_user=request.user, **changes))
            return
        endpoint, secret = services.endpoint_create(acting_user=request.user, **changes)
        adopt(obj, endpoint)
        if "secret" not in changes:
            messages.warning(request, f"The endpoint's signing secret (shown this once): {secret}")

    def delete_model(self, request, obj):
        services.endpoint_delete(endpoint=obj, acting_user=request.user)

    def get_deleted_objects(self, objs, request):
        """An endpoint goes to the trash alone: its delivery log stays (Django would list
        the deliveries as deleted with it, and refuse for want of the right to delete
        them, which nobody has)."""
        names = [str(endpoint) for endpoint in objs]
        return names, {self.model._meta.verbose_name_plural: len(names)}, set(), []


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "status_code", "response_ms", "error", "succeeded", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_response_ms",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status"]
    list_select_related = ["event", "endpoint"]
    inlines = [DeliveryAttemptInline]

    @admin.display(description="event")
    def event_type(self, obj):
        return obj.event.event_type
