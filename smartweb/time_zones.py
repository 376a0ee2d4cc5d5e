"""The organization's time zone: where its people read and type times (docs/decisions/0050),
unless a user chose their own.

Stored times are UTC. The back office shows and takes them in the user's zone, or else
the organization's: its requests run with that zone active (`activate_for`, called by the
admin site once the organization is known), and `LocalTimeMiddleware` clears it before
and after every request, so that a worker thread never carries one request's zone into
the next (the API answers and reads in UTC, as it always has). Jobs with no request run
each organization's work in its zone (`smartweb.jobs.each_organization`). A service that
decides by "today" whoever calls it (a proposal's last valid day) asks
`organization_today`.

The platform layer imports no app at load time: an organization is anything with a
`time_zone` attribute.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils import timezone

DEFAULT = "UTC"


@functools.cache
def available() -> frozenset[str]:
    """The IANA names this server knows (its tz database)."""
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(name: str) -> None:
    if name not in available():
        raise ValidationError(
            "Unknown time zone “%(name)s”: give an IANA name such as Europe/London or UTC.",
            code="unknown_time_zone",
            params={"name": name},
        )


def validate_chosen(name: str, stored: str | None) -> None:
    """A zone chosen for a user or an organization: a name the server knows, or the one
    stored already, kept when given back unchanged though a tz update has removed it since
    it was chosen (ADR 0050)."""
    if name != stored:
        validate_time_zone(name)


def zone_named(name: str | None) -> dt.tzinfo:
    """The zone of that name; UTC for none, or for a name this server no longer knows."""
    if name and name in available():
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo(DEFAULT)


def zone_of(organization) -> dt.tzinfo:
    return zone_named(getattr(organization, "time_zone", None))


def zone_for(user, otherwise: dt.tzinfo) -> dt.tzinfo:
    """Where `user` reads times: the zone they chose for themselves, or `otherwise` (their
    organization's)."""
    own = getattr(user, "time_zone", "")
    return zone_named(own) if own else otherwise


def read_by(user):
    """A `with` in which times read as `user` reads them: their own zone, or else the one
    active (their organization's, in a job run for it)."""
    return timezone.override(zone_for(user, timezone.get_current_timezone()))


def activate_for(organization, user=None) -> None:
    """Show and read times in `user`'s zone in `organization` for the rest of the
    request."""
    timezone.activate(zone_for(user, zone_of(organization)))


def organization_zone() -> dt.tzinfo:
    """The zone of the organization of the current context (UTC without one)."""
    from accounts.models import Organization
    from smartweb.tenancy.context import current_organization_id

    organization_id = current_organization_id()
    if organization_id is None:
        return zone_named(None)
    name = Organization.objects.filter(pk=organization_id).values_list("time_zone", flat=True)
    return zone_named(name.first())


def organization_today() -> dt.date:
    """Today's date where the current organization is, whoever asks (a page, the API, a
    job): a proposal is valid through its last day there."""
    return timezone.localdate(timezone=organization_zone())


class LocalTimeMiddleware:
    """No request starts or ends with a zone left active by another: the admin site
    activates its organization's after choosing the organization, for the view and the
    rendering of its response; everything else is UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
