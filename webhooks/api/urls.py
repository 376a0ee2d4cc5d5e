from smartweb.api.routers import Router
from webhooks.api import views

router = Router()
router.register("webhook-endpoints", views.EndpointViewSet, basename="webhookendpoint")
router.register("webhook-deliveries", views.DeliveryViewSet, basename="webhookdelivery")

urlpatterns = router.urls
