from django.urls import path

from mailing.api import views
from smartweb.api.routers import Router

router = Router()
router.register("email-templates", views.EmailTemplateViewSet, basename="emailtemplate")
router.register("email-messages", views.EmailMessageViewSet, basename="emailmessage")

urlpatterns = [
    path("leads/<uuid:pk>/send-email/", views.LeadSendEmailView.as_view(), name="lead-send-email"),
    path("email-inbound-secret/", views.InboundSecretView.as_view(), name="email-inbound-secret"),
    path(
        "webhooks/inbound-email/",
        views.InboundEmailWebhookView.as_view(),
        name="inbound-email-webhook",
    ),
    *router.urls,
]
