"""Choices of the CRM models and the state machines of their statuses.

Each status graph maps a state to the states it may move to; the services refuse any
other move with the allowed next states (HTTP 409 in the API).
"""

from django.db import models


class OpportunityStatus(models.TextChoices):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class ProposalStatus(models.TextChoices):
    DRAFT = "draft"
    SENT = "sent"
    VIEWED = "viewed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


PROPOSAL_TRANSITIONS: dict[str, tuple[str, ...]] = {
    ProposalStatus.DRAFT: (ProposalStatus.SENT,),
    ProposalStatus.SENT: (
        ProposalStatus.VIEWED,
        ProposalStatus.ACCEPTED,
        ProposalStatus.REJECTED,
        ProposalStatus.EXPIRED,
    ),
    ProposalStatus.VIEWED: (
        ProposalStatus.ACCEPTED,
        ProposalStatus.REJECTED,
        ProposalStatus.EXPIRED,
    ),
    ProposalStatus.ACCEPTED: (),
    ProposalStatus.REJECTED: (),
    ProposalStatus.EXPIRED: (),
}


class ContractStatus(models.TextChoices):
    DRAFT = "draft"
    SENT = "sent"
    SIGNED = "signed"
    ACTIVE = "active"
    TERMINATED = "terminated"
    EXPIRED = "expired"


CONTRACT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    # A contract signed on paper may be recorded as signed without being sent first.
    ContractStatus.DRAFT: (ContractStatus.SENT, ContractStatus.SIGNED),
    ContractStatus.SENT: (ContractStatus.SIGNED,),
    ContractStatus.SIGNED: (ContractStatus.ACTIVE, ContractStatus.TERMINATED),
    ContractStatus.ACTIVE: (ContractStatus.TERMINATED, ContractStatus.EXPIRED),
    ContractStatus.TERMINATED: (),
    ContractStatus.EXPIRED: (),
}


class CampaignStatus(models.TextChoices):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


CAMPAIGN_TRANSITIONS: dict[str, tuple[str, ...]] = {
    CampaignStatus.DRAFT: (CampaignStatus.ACTIVE, CampaignStatus.CANCELLED),
    CampaignStatus.ACTIVE: (
        CampaignStatus.PAUSED,
        CampaignStatus.COMPLETED,
        CampaignStatus.CANCELLED,
    ),
    CampaignStatus.PAUSED: (CampaignStatus.ACTIVE, CampaignStatus.CANCELLED),
    CampaignStatus.COMPLETED: (),
    CampaignStatus.CANCELLED: (),
}


class AICallStatus(models.TextChoices):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    NO_ANSWER = "no_answer"


AI_CALL_FINAL_STATUSES = (AICallStatus.COMPLETED, AICallStatus.FAILED, AICallStatus.NO_ANSWER)


class Sentiment(models.TextChoices):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class CallOutcome(models.TextChoices):
    INTERESTED = "interested"
    CALLBACK = "callback"
    MEETING_BOOKED = "meeting_booked"
    NOT_INTERESTED = "not_interested"
    DO_NOT_CALL = "do_not_call"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"
    NO_ANSWER = "no_answer"
    OTHER = "other"


class TaskType(models.TextChoices):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    FOLLOW_UP = "follow_up"
    TODO = "todo", "To-do"


class TaskPriority(models.TextChoices):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TaskStatus(models.TextChoices):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


TASK_OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)

# The task list's "due" filter value for the tasks due today and the overdue (My day's).
DUE_BY_TODAY = "by_today"
