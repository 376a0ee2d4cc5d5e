from django.urls import path

from leads.api import lead_forms, views
from smartweb.api.routers import Router

router = Router()
router.include_root_view = False
router.register("companies", views.CompanyViewSet, basename="company")
router.register("leads", views.LeadViewSet, basename="lead")
router.register("interactions", views.InteractionViewSet, basename="interaction")
router.register("tags", views.TagViewSet, basename="tag")
router.register("enrichments", views.EnrichmentViewSet, basename="enrichment")
router.register("lead-forms", lead_forms.LeadFormViewSet, basename="leadform")

urlpatterns = [
    *router.urls,
    path(
        "forms/<str:public_key>/submit/",
        lead_forms.LeadFormSubmitView.as_view(),
        name="lead-form-submit",
    ),
]
