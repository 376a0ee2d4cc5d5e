from savedviews.api import views
from smartweb.api.routers import Router

router = Router()
router.register("saved-views", views.SavedViewViewSet, basename="savedview")

urlpatterns = router.urls
