from attachments.api import views
from smartweb.api.routers import Router

router = Router()
router.include_root_view = False
router.register("attachments", views.AttachmentViewSet, basename="attachment")

urlpatterns = router.urls
