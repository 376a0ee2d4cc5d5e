from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts.views import invitation_accept
from leads.form_pages import lead_form_page
from mailing.unsubscribe_page import unsubscribe_page
from smartweb.health import healthz

# A database outage is a 503 (JSON under /api/ and /healthz), not an HTML 500.
handler500 = "smartweb.error_views.server_error"

urlpatterns = [
    # The back office is the product's only page for people: the root leads there.
    path("", RedirectView.as_view(pattern_name="admin:index"), name="root"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("invitations/<str:token>/", invitation_accept, name="invitation-accept"),
    path("sso/", include("sso.urls")),
    path("forms/<str:public_key>/", lead_form_page, name="lead-form-page"),
    # The unsubscribe link of every email to a lead; no trailing slash, as the link is
    # written (a redirect would turn the mailbox provider's one-click POST into a GET).
    path("u/<str:token>", unsubscribe_page, name="email-unsubscribe"),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("leads.api.urls")),
    path("api/v1/", include("crm.api.urls")),
    path("api/v1/", include("compliance.api.urls")),
    path("api/v1/", include("savedviews.api.urls")),
    path("api/v1/", include("webhooks.api.urls")),
    path("api/v1/", include("attachments.api.urls")),
    path("api/v1/", include("sso.api_urls")),
    path("api/v1/", include("notifications.api.urls")),
    path("api/v1/", include("mailing.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        # drf-spectacular's own ReDoc page loads Google's fonts: this one is self-contained.
        SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html"),
        name="redoc",
    ),
]

handler400 = "smartweb.api.errors.bad_request"
handler403 = "smartweb.api.errors.permission_denied"
handler404 = "smartweb.api.errors.page_not_found"
