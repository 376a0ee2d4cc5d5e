"""The events an organization's webhook endpoints can subscribe to, and the states of
one delivery."""

from django.db import models


class EventType(models.TextChoices):
    LEAD_CREATED = "lead.created"
    LEAD_STATUS_CHANGED = "lead.status_changed"
    OPPORTUNITY_STAGE_CHANGED = "opportunity.stage_changed"
    OPPORTUNITY_WON = "opportunity.won"
    OPPORTUNITY_LOST = "opportunity.lost"
    PROPOSAL_ACCEPTED = "proposal.accepted"
    CONTRACT_SIGNED = "contract.signed"
    AI_CALL_COMPLETED = "ai_call.completed"
    TASK_OVERDUE = "task.overdue"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # due at next_attempt_at, once the endpoint's older ones are done
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # retries ran out (a day), or the endpoint was deleted
