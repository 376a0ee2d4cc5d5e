"""What a person is told about, in the app and in their daily digest."""

from django.db import models


class NotificationKind(models.TextChoices):
    LEAD_ASSIGNED = "lead_assigned", "Lead assigned to you"
    TASK_DUE = "task_due", "Task due soon"
    TASK_OVERDUE = "task_overdue", "Task overdue"
    AI_CALL_FOLLOW_UP = "ai_call_follow_up", "AI call asks for a follow-up"
    PROPOSAL_ACCEPTED = "proposal_accepted", "Proposal accepted"
    PROPOSAL_EXPIRING = "proposal_expiring", "Proposal expiring"
    PROPOSAL_EXPIRED = "proposal_expired", "Proposal expired"
    MENTION = "mention", "Mentioned in a note"
    WEBHOOK_DISABLED = "webhook_disabled", "Webhook endpoint disabled"
