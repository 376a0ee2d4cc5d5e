from django.urls import path

from crm.api import views
from crm.api.webhooks import AICallWebhookView
from smartweb.api.routers import Router

router = Router()
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("pipeline-stages", views.PipelineStageViewSet, basename="pipelinestage")
router.register("opportunities", views.OpportunityViewSet, basename="opportunity")
router.register("proposals", views.ProposalViewSet, basename="proposal")
router.register("proposal-line-items", views.ProposalLineItemViewSet, basename="proposallineitem")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("campaigns", views.CampaignViewSet, basename="campaign")
router.register("ai-calls", views.AICallViewSet, basename="aicall")
router.register("tasks", views.TaskViewSet, basename="task")

urlpatterns = [
    path("webhooks/ai-calls/", AICallWebhookView.as_view(), name="ai-call-webhook"),
    *router.urls,
]
