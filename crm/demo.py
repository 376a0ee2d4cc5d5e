"""Demo data of the CRM, drawn from the organization's demo leads: opportunities across the
stages of the default pipeline with their proposals and contracts, a finished AI call
campaign with its call records (recorded as the provider's webhook would), and tasks.

Everything goes through the services, as the system. The organization gets its AI call
webhook secret, so that a campaign launched in the demo runs (with the demo provider of
`make run`, crm.demo_provider). Deterministic per organization and
idempotent: the demo campaign marks the data as loaded. Called by `manage.py seed_demo`
inside the organization's context, after the leads demo.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from crm import pricing, services
from crm.choices import AICallStatus, CampaignStatus, TaskPriority, TaskType
from crm.models import AICall, AICallWebhookSecret, Campaign, Opportunity
from leads import services as lead_services
from leads.choices import LeadStatus
from leads.models import Lead

DEMO_CAMPAIGN = "Spring website push (demo)"
# How many demo deals end in each stage of the default pipeline.
STAGE_PLAN = (
    ("New", 3),
    ("Discovery", 3),
    ("Proposal", 3),
    ("Negotiation", 3),
    ("Won", 3),
    ("Lost", 2),
)
PACKAGES = (
    ("Starter website (5 pages)", Decimal("1450.00")),
    ("Business website (10 pages, booking form)", Decimal("2950.00")),
    ("Website with online quotes and gallery", Decimal("4200.00")),
)
EXTRAS = (
    ("Hosting and care plan (months)", Decimal("12"), Decimal("29.00")),
    ("Local SEO set-up", Decimal("1"), Decimal("350.00")),
    ("Logo refresh", Decimal("1"), Decimal("240.00")),
)
LOST_REASONS = ("Went with a nephew who builds sites", "No budget until next year")
# outcome, call status, sentiment, summary
CALLS = (
    ("meeting_booked", AICallStatus.COMPLETED, "positive", "Keen; wants to see examples."),
    ("meeting_booked", AICallStatus.COMPLETED, "positive", "Booked a visit to the yard."),
    ("callback", AICallStatus.COMPLETED, "neutral", "Busy on a job; call back tomorrow."),
    ("callback", AICallStatus.COMPLETED, "neutral", "Asked for a call after 4pm."),
    ("callback", AICallStatus.COMPLETED, "positive", "Partner decides; call back Monday."),
    ("interested", AICallStatus.COMPLETED, "positive", "Wants prices by email."),
    ("interested", AICallStatus.COMPLETED, "neutral", "Interested in online quotes."),
    ("not_interested", AICallStatus.COMPLETED, "negative", "Gets enough work by word of mouth."),
    ("not_interested", AICallStatus.COMPLETED, "neutral", "Has a site from a relative."),
    ("voicemail", AICallStatus.COMPLETED, "", "Left a voicemail."),
    ("", AICallStatus.NO_ANSWER, "", ""),
    ("", AICallStatus.NO_ANSWER, "", ""),
)


def load_demo(*, organization, users: dict) -> None:
    if not AICallWebhookSecret.objects.exists():
        # A campaign launches only with a secret for its results (the demo provider's).
        services.webhook_secret_rotate(acting_user=None)
    if Campaign.all_objects.filter(name=DEMO_CAMPAIGN).exists():
        return
    rng = random.Random(f"crm-demo-{organization.slug}")
    owners = [users["rep"], users["rep"], users["manager"]]
    _deals(rng, owners)
    _campaign(rng, organization, users)
    _tasks(users)


def _deals(rng: random.Random, owners: list) -> None:
    pipeline = services.default_pipeline()
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    wanted = sum(count for _, count in STAGE_PLAN)
    candidates = list(
        Lead.objects.filter(
            status__in=[LeadStatus.QUALIFIED, LeadStatus.CONTACTED, LeadStatus.NURTURING]
        )
        .exclude(opportunities__isnull=False)
        .select_related("company")
        .order_by("-lead_score", "created_at")[:wanted]
    )
    today = timezone.localdate()
    plan = [name for name, count in STAGE_PLAN for _ in range(count)]
    for lead, stage_name in zip(candidates, plan, strict=False):
        if lead.status != LeadStatus.QUALIFIED:
            lead = lead_services.lead_change_status(
                lead=lead, status=LeadStatus.QUALIFIED, acting_user=None, reason="Demo data"
            )
        package, price = rng.choice(PACKAGES)
        opportunity = services.lead_convert(
            lead=lead,
            acting_user=None,
            name=f"{package.split(' (')[0]} for {lead.company.name}",
            value=price,
            owner=lead.assigned_to or rng.choice(owners),
            expected_close_date=today + dt.timedelta(days=rng.randint(7, 160)),
        )
        _advance(rng, opportunity, stages, stage_name, package, price)


def _advance(rng, opportunity: Opportunity, stages: dict, target: str, package, price) -> None:
    if target in ("Discovery", "Proposal", "Negotiation", "Won"):
        services.opportunity_move_stage(
            opportunity=opportunity, stage=stages["Discovery"], acting_user=None
        )
    if target in ("Proposal", "Negotiation", "Won"):
        extra = rng.choice(EXTRAS)
        proposal = services.proposal_create(
            opportunity=opportunity,
            acting_user=None,
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            lines=[
                pricing.LineInput(package, Decimal("1"), price, tax_rate=Decimal("20")),
                pricing.LineInput(extra[0], extra[1], extra[2], tax_rate=Decimal("20")),
            ],
        )
        # Past work: the demo's proposals went out before, no email is sent now.
        services.proposal_send(proposal=proposal, acting_user=None, email=False)
        services.opportunity_move_stage(
            opportunity=opportunity, stage=stages["Proposal"], acting_user=None
        )
        if target in ("Negotiation", "Won"):
            services.proposal_mark_viewed(proposal=proposal, acting_user=None)
            services.opportunity_move_stage(
                opportunity=opportunity, stage=stages["Negotiation"], acting_user=None
            )
        if target == "Won":
            contract = services.proposal_accept(proposal=proposal, acting_user=None)
            lead = opportunity.lead
            services.contract_sign(
                contract=contract,
                signer_name=lead.contact_name or lead.company.name,
                signer_email=lead.contact_email,
                acting_user=None,
            )
    if target == "Lost":
        services.opportunity_move_stage(
            opportunity=opportunity,
            stage=stages["Lost"],
            acting_user=None,
            lost_reason=rng.choice(LOST_REASONS),
        )


def _campaign(rng: random.Random, organization, users: dict) -> None:
    campaign = services.campaign_save(
        acting_user=None,
        name=DEMO_CAMPAIGN,
        description="AI calls to trades without a modern website.",
        script=(
            "You call on behalf of a small web agency. Ask whether they get enquiries "
            "online, offer a short visit to show example sites, and respect a no."
        ),
        timezone="Europe/London",
        lead_filter={"statuses": ["new", "contacted"], "website_statuses": ["none", "outdated"]},
        daily_call_limit=40,
        total_call_limit=200,
    )
    started = timezone.now() - dt.timedelta(days=6)
    Campaign.objects.filter(pk=campaign.pk).update(
        status=CampaignStatus.COMPLETED,
        launched_at=started,
        completed_at=started + dt.timedelta(days=2),
        created_by=users["manager"],
    )
    campaign.refresh_from_db()
    targets = list(services.campaign_targets(campaign)[: len(CALLS)])
    for index, (lead, (outcome, status, sentiment, summary)) in enumerate(
        zip(targets, CALLS, strict=False)
    ):
        when = started + dt.timedelta(hours=3 * index, minutes=rng.randint(0, 50))
        call = AICall.objects.create(
            campaign=campaign,
            lead=lead,
            provider="http",
            provider_call_id=f"demo-{organization.slug}-{index + 1:03d}",
            status=AICallStatus.IN_PROGRESS,
            started_at=when,
        )
        answered = status == AICallStatus.COMPLETED
        services.ai_call_record_result(
            report=services.CallReport(
                provider_call_id=call.provider_call_id,
                status=status,
                started_at=when,
                duration_seconds=rng.randint(60, 420) if answered else None,
                transcript=f"Agent: Hello, is that {lead.company.name}? … {summary}"
                if answered
                else "",
                summary=summary,
                sentiment=sentiment,
                outcome=outcome,
                cost=Decimal(rng.randint(9, 60)) / Decimal("100"),
                callback_at=timezone.now() + dt.timedelta(days=1, hours=2)
                if outcome == "callback"
                else None,
                meeting_at=timezone.now() + dt.timedelta(days=3 + index)
                if outcome == "meeting_booked"
                else None,
                analysis={"intent": outcome or "unreached", "next_steps": []},
            )
        )


def _tasks(users: dict) -> None:
    now = timezone.now()
    deal = Opportunity.objects.open().select_related("lead").order_by("-weighted_value").first()
    for title, task_type, due, assignee, priority in (
        ("Send the portfolio PDF", TaskType.EMAIL, now - dt.timedelta(days=1), "rep", "high"),
        ("Chase the signed contract", TaskType.CALL, now + dt.timedelta(hours=3), "rep", "urgent"),
        ("Review the pipeline with the team", TaskType.MEETING, now + dt.timedelta(days=4),
         "manager", "normal"),
        ("Prepare photo shoot checklist", TaskType.TODO, now + dt.timedelta(days=9), "rep", "low"),
    ):  # fmt: skip
        services.task_create(
            acting_user=None,
            title=title,
            type=task_type,
            priority=TaskPriority(priority),
            due_at=due,
            assigned_to=users[assignee],
            opportunity=deal if task_type != TaskType.MEETING else None,
        )
