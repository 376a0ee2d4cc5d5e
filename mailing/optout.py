"""Recording an unsubscribe (ADR 0042), in the organization its link names, with no user.

- The address goes on the organization's suppression list, reason `unsubscribed`: it
  stops mail to the address (the next send is refused, as to a bounced one), not the
  person, who may still be or become a lead.
- The lead's consent to contact is withdrawn through compliance's own service (a consent
  record with its evidence and history; queued AI calls are cancelled, as for any
  withdrawal), when the lead is active, not erased, and still has the address.
- The lead's timeline gets a note, and the security audit log a row.

A repeat (the mailbox provider's retry, a second click) writes nothing. The lead's row
lock orders two concurrent opt-outs of one lead.
"""

from __future__ import annotations

from django.db import transaction

from accounts.audit import record_audit_event
from compliance import consent
from compliance import services as compliance_services
from compliance.choices import ConsentPurpose, ConsentSource, SuppressionKind, SuppressionReason
from compliance.erased import is_erased, lock_leads
from compliance.suppression import suppress_email_digest, value_hash
from leads.choices import Direction, InteractionType
from leads.models import Lead
from leads.services import interaction_log
from mailing.unsubscribe import Optout
from smartweb.origin import client_ip

AUDIT_UNSUBSCRIBED = "mailing.unsubscribed"
ONE_CLICK, PAGE = "one-click", "page"
EVIDENCE_TEXT = "Unsubscribed with the link in an email."


def _lead_of(optout: Optout) -> Lead | None:
    """The token's lead, when the opt-out is its to record: active, not erased, and still
    at the address (a lead that has another one now may be another person's)."""
    lead = Lead.objects.filter(pk=optout.lead_id).first()
    if lead is None or is_erased(lead):
        return None
    if value_hash(SuppressionKind.EMAIL, lead.contact_email) != optout.digest:
        return None
    return lead


def _withdraw_consent(lead: Lead, *, method: str, request) -> bool:
    """Withdraw the lead's contact consent; False when it is withdrawn already."""
    current = consent.latest(ConsentPurpose.CONTACT, lead.pk).first()
    if current is not None and not current.granted:
        return False
    compliance_services.consent_record(
        lead=lead,
        purpose=ConsentPurpose.CONTACT,
        granted=False,
        source=ConsentSource.EMAIL,
        acting_user=None,
        evidence={"text": EVIDENCE_TEXT, "ip": client_ip(request) or "", "method": method},
    )
    return True


def _note(lead: Lead) -> None:
    """On the lead's timeline, as a bounce is: the rep sees why mail stops."""
    interaction_log(
        lead=lead,
        acting_user=None,
        data={
            "type": InteractionType.NOTE,
            "direction": Direction.INTERNAL,
            "subject": "Unsubscribed from email",
            "content": "The contact used the unsubscribe link of an email: the address is on"
            " the suppression list and the consent to contact is withdrawn.",
        },
    )


@transaction.atomic
def email_unsubscribe(*, optout: Optout, method: str, request=None) -> bool:
    """Opt the address out in the current organization (the token's); True when this
    wrote something, False for a repeat."""
    lock_leads([optout.lead_id], for_update=True)
    listed = suppress_email_digest(optout.digest, reason=SuppressionReason.UNSUBSCRIBED)
    lead = _lead_of(optout)
    withdrawn = lead is not None and _withdraw_consent(lead, method=method, request=request)
    if not (listed or withdrawn):
        return False
    if lead is not None:
        _note(lead)
    record_audit_event(
        action=AUDIT_UNSUBSCRIBED,
        target=Lead.all_objects.filter(pk=optout.lead_id).first(),
        request=request,
        details={
            "lead": str(optout.lead_id),
            "method": method,
            "suppressed": bool(listed),
            "consent_withdrawn": withdrawn,
        },
    )
    return True
