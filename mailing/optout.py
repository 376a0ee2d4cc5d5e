"""Recording an unsubscribe (ADR 0042), in the organization its link names, with no user.

- The address goes on the organization's suppression list, reason `unsubscribed`: it
  stops mail to the address (the next send is refused, as to a bounced one), not the
  person, who may still be or become a lead.
- The lead's consent to contact is withdrawn through compliance's own service (a consent
  record with its evidence and history; queued AI calls are cancelled, as for any
  withdrawal), when the lead is active, not erased, and still has the address.
- The security audit log gets a row.

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
from leads.models import Lead
from mailing.unsubscribe import Optout
from smartweb.origin import client_ip

AUDIT_UNSUBSCRIBED = "mailing.unsubscribed"
ONE_CLICK, PAGE = "one-click", "page"
EVIDENCE_TEXT = "Unsubscribed with the link in an email."


def _withdraw_consent(optout: Optout, *, method: str, request) -> bool:
    """Withdraw the lead's contact consent; False when it is not the lead's to withdraw
    (gone, erased, another address now) or is withdrawn already."""
    lead = Lead.objects.filter(pk=optout.lead_id).first()
    if lead is None or is_erased(lead):
        return False
    if value_hash(SuppressionKind.EMAIL, lead.contact_email) != optout.digest:
        return False
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


@transaction.atomic
def email_unsubscribe(*, optout: Optout, method: str, request=None) -> bool:
    """Opt the address out in the current organization (the token's); True when this
    wrote something, False for a repeat."""
    lock_leads([optout.lead_id], for_update=True)
    listed = suppress_email_digest(optout.digest, reason=SuppressionReason.UNSUBSCRIBED)
    withdrawn = _withdraw_consent(optout, method=method, request=request)
    if not (listed or withdrawn):
        return False
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
