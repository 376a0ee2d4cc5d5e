from leads.api import views
from smartweb.api.routers import Router

router = Router()
router.include_root_view = False
router.register("companies", views.CompanyViewSet, basename="company")
router.register("leads", views.LeadViewSet, basename="lead")
router.register("interactions", views.InteractionViewSet, basename="interaction")
router.register("tags", views.TagViewSet, basename="tag")
router.register("enrichments", views.EnrichmentViewSet, basename="enrichment")

urlpatterns = router.urls
