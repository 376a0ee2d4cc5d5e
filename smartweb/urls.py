from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from smartweb.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("leads.api.urls")),
    path("api/v1/", include("crm.api.urls")),
    path("api/v1/", include("compliance.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler400 = "smartweb.api.errors.bad_request"
handler403 = "smartweb.api.errors.permission_denied"
handler404 = "smartweb.api.errors.page_not_found"
handler500 = "smartweb.api.errors.server_error"
