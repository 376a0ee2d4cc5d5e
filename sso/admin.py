"""The organization's identity provider in the admin, for its admins (the client
secret write-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.forms import SimpleArrayField
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from smartweb.admin import TenantModelAdmin, adopt
from smartweb.rbac import Action
from sso import policy, services
from sso.models import IdentityProvider


class IdentityProviderForm(forms.ModelForm):
    discovery_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=IdentityProvider._meta.get_field("discovery_url").help_text,
    )
    email_domains = SimpleArrayField(
        forms.CharField(max_length=253),
        required=False,
        help_text="Comma-separated, e.g. example.com,example.co.uk",
    )
    required_emails = SimpleArrayField(
        forms.CharField(max_length=254), required=False, help_text="Comma-separated emails."
    )
    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Left empty: kept as it is.",
    )

    class Meta:
        model = IdentityProvider
        fields = [*services.PROVIDER_FIELDS, "client_secret"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        values = {name: cleaned.get(name) for name in services.PROVIDER_FIELDS}
        current = None
        if not self.instance._state.adding:
            current = {name: getattr(self.instance, name) for name in services.PROVIDER_FIELDS}
        reach = services.reaches_provider(current, values, cleaned.get("client_secret") or "")
        try:
            values = services.provider_check(values, reach=reach)
        except ValidationError as exc:
            raise ValidationError(exc.error_dict) from None
        if self.instance._state.adding and not cleaned.get("client_secret"):
            raise ValidationError({"client_secret": "Enter the client secret the provider gave."})
        cleaned.update(values)
        return cleaned


@admin.register(IdentityProvider)
class IdentityProviderAdmin(TenantModelAdmin):
    form = IdentityProviderForm
    list_display = ["name", "kind", "sso_required", "is_active"]
    fields = [*services.PROVIDER_FIELDS, "client_secret"]

    def has_view_permission(self, request, obj=None):
        # The provider's set-up is for those who may change it, not every member who may
        # read the organization.
        return self.has_change_permission(request, obj)

    def has_module_permission(self, request):
        return self.has_change_permission(request)

    # The rule of the services (`services.may_configure`), not the organization's
    # permission at any scope: organizations:create opened the Add page.
    def has_add_permission(self, request):
        return services.may_configure(request.user, Action.CREATE)

    def has_change_permission(self, request, obj=None):
        allowed = services.may_configure(request.user, Action.UPDATE)
        return allowed and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        allowed = services.may_configure(request.user, Action.DELETE)
        return allowed and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        changes.pop("client_secret", None)
        saved = services.provider_save(
            provider=IdentityProviderAdmin._saved(obj) if change else None,
            changes=changes,
            client_secret=form.cleaned_data.get("client_secret") or "",
            acting_user=request.user,
            request=request,
        )
        adopt(obj, saved)
        refused = policy.tokens_needing_sso(saved)
        if refused:
            # Kept, not deleted: they are integrations' credentials, replaced by their owners.
            url = reverse("admin:accounts_apitoken_changelist") + "?status=needs_sso"
            self.message_user(
                request,
                format_html(
                    "{} API token(s) of members the provider covers were not created through "
                    'it: they are refused, and kept until revoked (see <a href="{}">API '
                    "tokens</a>).",
                    len(refused),
                    url,
                ),
                messages.WARNING,
            )

    def delete_model(self, request, obj):
        services.provider_delete(provider=obj, acting_user=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for provider in queryset:  # one per organization
            self.delete_model(request, provider)

    @staticmethod
    def _saved(obj):
        return IdentityProvider.objects.select_for_update().get(pk=obj.pk)
