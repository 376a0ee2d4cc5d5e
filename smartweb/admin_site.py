"""The admin site: every admin view runs in the organization context of its user.

The organization is the one chosen with the switcher (kept in the session) or the user's
default membership; its pages show and take times in its time zone
(smartweb.time_zones). Platform super admins may switch into any organization; each
entry is audited (see `activate_platform_access`).
"""

from __future__ import annotations

import functools

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from smartweb import admin_deletes, time_zones
from smartweb.tenancy.context import current_membership, current_organization_id

SESSION_KEY = "smartweb_organization"


class TenantAdminSite(admin.AdminSite):
    site_header = "SmartWeb CRM"
    site_title = "SmartWeb CRM"
    index_title = "Back office"
    # "View site": the API documentation, the server's one other page for people (served
    # offline). The admin home is already the header's title link, and `/` leads here.
    site_url = "/api/docs/"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Django's "Delete selected", with a refused row shown rather than a server error.
        self.add_action(admin_deletes.delete_selected)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @functools.wraps(inner)
        def with_organization(request, *args, **kwargs):
            user = request.user
            if user.is_authenticated and user.is_active:
                self._activate(request)
                # Until the request ends (smartweb.time_zones.LocalTimeMiddleware): the
                # page is rendered after the view returns.
                time_zones.activate_for(getattr(request, "organization", None), user)
                if self._second_factor_missing(request):
                    return self._sign_in_again(request)
            return inner(request, *args, **kwargs)

        return with_organization

    def _activate(self, request) -> None:
        from accounts.tenancy import activate_request

        try:
            activate_request(request, request.user, requested=request.session.get(SESSION_KEY))
        except PermissionDenied:
            # The stored choice is no longer valid: fall back to the default membership.
            request.session.pop(SESSION_KEY, None)
            try:
                activate_request(request, request.user, requested=None)
            except PermissionDenied:
                # No usable membership at all: no context, and `has_permission` refuses.
                return

    @staticmethod
    def _second_factor_missing(request) -> bool:
        """The current organization requires a second factor this session did not give
        (it signed in before the requirement, or before the user enrolled)."""
        from django_otp import DEVICE_ID_SESSION_KEY

        from accounts import two_factor

        membership = current_membership()
        return (
            membership is not None
            and DEVICE_ID_SESSION_KEY not in request.session
            and two_factor.membership_requires(membership)
        )

    def _sign_in_again(self, request):
        from django.contrib.auth import logout

        logout(request)
        messages.warning(
            request, "Your organization requires two-factor authentication: sign in again."
        )
        return HttpResponseRedirect(reverse("admin:login", current_app=self.name))

    def login(self, request, extra_context=None):
        """The password step; where a second factor is needed, the form signed nobody in
        (accounts.forms.LoginForm) and the browser goes on to the second step."""
        response = super().login(request, extra_context)
        if getattr(request, "second_factor_pending", False):
            return HttpResponseRedirect(reverse("admin:second_factor", current_app=self.name))
        return response

    def has_permission(self, request):
        """The back office is open to platform super admins, and to a member whose
        active membership of the current organization has a role that allows it. Not
        `is_staff`: a flag on the global user that no organization may set or clear. A
        super admin on a session confined to one organization is its member there."""
        from smartweb.access import platform_admin  # models: not at the app's load

        user = request.user
        if not (user.is_authenticated and user.is_active):
            return False
        if platform_admin(request):
            return True
        membership = current_membership()
        return membership is not None and membership.is_active and membership.role.back_office

    def each_context(self, request):
        context = super().each_context(request)
        if request.user.is_authenticated:
            context["organization_choices"] = self.organization_choices(request)
            context["current_organization_id"] = current_organization_id()
            context["notifications_unread"] = self.notifications_unread(request.user)
            context["time_zone_name"] = timezone.get_current_timezone_name()
            context["time_zone_chosen"] = bool(getattr(request.user, "time_zone", ""))
        return context

    def get_app_list(self, request, app_label=None):
        """Built once a request: the home page asks for it twice (its own list and the
        navigation sidebar's), and each build checks every model admin's permissions and
        reverses its URLs."""
        built = request.__dict__.setdefault("_smartweb_app_lists", {})
        if app_label not in built:
            built[app_label] = super().get_app_list(request, app_label)
        return built[app_label]

    @staticmethod
    def notifications_unread(user) -> int:
        """The header's badge, counted now (in the view's organization context), not
        lazily while the page renders."""
        from notifications.selectors import unread_count

        return unread_count(user)

    def index(self, request, extra_context=None):
        """The home page: the user's day above the app list. Imported here: the platform
        layer does not import an app at load time."""
        from crm.my_day import my_day

        day = my_day(user=request.user, who=request.GET.get("day", "me"))
        return super().index(request, {"my_day": day, **(extra_context or {})})

    @staticmethod
    def organization_choices(request) -> list[tuple[str, str]]:
        from accounts.models import Organization
        from accounts.tenancy import confined_organization, user_memberships
        from smartweb.access import platform_admin

        if platform_admin(request):
            return [(str(o.pk), o.name) for o in Organization.objects.order_by("name")]
        user, confined = request.user, confined_organization(request)
        # The memberships the request's organization was chosen from, read once.
        listed = getattr(request, "user_memberships", None)
        memberships = user_memberships(user) if listed is None else listed
        return [
            (str(m.organization_id), m.organization.name)
            for m in memberships
            if m.is_active and (not confined or str(m.organization_id) == confined)
        ]

    def get_urls(self):
        from accounts.two_factor_views import second_factor, two_factor_settings
        from notifications.admin_views import notifications_page

        return [
            path("second-factor/", second_factor, name="second_factor"),
            path("two-factor/", self.admin_view(two_factor_settings), name="two_factor"),
            path(
                "notifications/",
                self.admin_view(functools.partial(notifications_page, self)),
                name="notifications",
            ),
            path(
                "switch-organization/",
                self.admin_view(self.switch_organization),
                name="switch_organization",
            ),
            # Not Django's "view on site" redirect (`r/<content type>/<id>/`): no model
            # has a page outside the admin, and it fetched a row of any table by id.
            *(url for url in super().get_urls() if getattr(url, "name", None) != "view_on_site"),
        ]

    def password_change(self, request, extra_context=None):
        """Django's page, the change made by the accounts service (lockout, audit)."""
        from accounts.password_views import OwnPasswordChangeView

        request.current_app = self.name
        return OwnPasswordChangeView.as_view(
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
        )(request)

    @method_decorator(require_POST)
    def switch_organization(self, request):
        requested = request.POST.get("organization", "")
        if requested not in {value for value, _ in self.organization_choices(request)}:
            messages.error(request, "You cannot switch to that organization.")
        else:
            request.session[SESSION_KEY] = requested
        target = request.POST.get("next") or reverse("admin:index")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
            target = reverse("admin:index")
        return HttpResponseRedirect(target)


class TenantAdminConfig(AdminConfig):
    default_site = "smartweb.admin_site.TenantAdminSite"
