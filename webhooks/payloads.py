"""What an event tells about the row it is about: identifiers, states and amounts, the
same names as the API's. Contact details stay out: a receiver that needs them reads the
row through the API, with its own permissions."""

from __future__ import annotations

from typing import Any


def lead(row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "status": row.status,
        "lead_score": row.lead_score,
        "company": row.company_id,
        "assigned_to": row.assigned_to_id,
    }


def stage(row) -> dict[str, Any]:
    return {"id": row.pk, "name": row.name, "is_won": row.is_won, "is_lost": row.is_lost}


def opportunity(row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "name": row.name,
        "status": row.status,
        "lead": row.lead_id,
        "pipeline": row.pipeline_id,
        "stage": row.stage_id,
        "value": row.value,
        "currency": row.currency,
        "probability": row.probability,
        "owner": row.owner_id,
        "lost_reason": row.lost_reason,
        "closed_at": row.closed_at,
    }


def proposal(row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "number": row.number,
        "opportunity": row.opportunity_id,
        "total": row.total,
        "currency": row.currency,
        "accepted_at": row.accepted_at,
    }


def contract(row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "number": row.number,
        "opportunity": row.opportunity_id,
        "proposal": row.proposal_id,
        "value": row.value,
        "currency": row.currency,
        "signed_at": row.signed_at,
    }


def ai_call(row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "lead": row.lead_id,
        "campaign": row.campaign_id,
        "status": row.status,
        "outcome": row.outcome,
        "duration_seconds": row.duration_seconds,
        "ended_at": row.ended_at,
    }


def task(row) -> dict[str, Any]:
    return {
        "id": row.pk,
        "title": row.title,
        "status": row.status,
        "due_at": row.due_at,
        "assigned_to": row.assigned_to_id,
        "lead": row.lead_id,
        "opportunity": row.opportunity_id,
    }
