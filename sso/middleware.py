"""Ends, at its next request, a session that does not satisfy the single sign-on its
user's organizations now require (signed in with a password before the requirement), and
confines a session signed in through a provider to that provider's organization."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout

from accounts.audit import AuditAction, record_audit_event
from smartweb.platform_reach import confine
from smartweb.tenancy.context import tenant_context
from sso import policy, session


class RequiredSignInMiddleware:
    """Sits after AuthenticationMiddleware and MessageMiddleware. A session signed in
    through a provider passes when its organization is among those that require one, and
    is confined to that organization."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self._check(request)
        return self.get_response(request)

    @staticmethod
    def _check(request) -> None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        mark = session.signed_in_through(request)
        if mark is not None:
            # A provider vouches for its own organization's members, not for what else
            # the same account may reach.
            confine(user, mark["organization"])
        required = policy.requiring_organizations(user)
        if not required:
            return
        if mark is not None and mark["organization"] in {str(o) for o in required}:
            return
        for organization_id in sorted(required, key=str):
            with tenant_context(organization_id, user=user):
                record_audit_event(
                    action=AuditAction.SSO_SESSION_ENDED,
                    actor=user,
                    organization_id=organization_id,
                    request=request,
                    details={"reason": "sso_required"},
                )
        logout(request)
        messages.warning(request, policy.REFUSAL)
