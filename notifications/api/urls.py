from notifications.api import views
from smartweb.api.routers import Router

router = Router()
router.include_root_view = False
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = router.urls
