"""Who may change the owner of a lead or deal, merge other leads into a lead, or convert a
lead: whoever's role may change the record, not a colleague it is only shared with (ADR
0041). An edit share lets the colleague work on the record; taken over (assigned to
themselves or their team), it would leave its owner's reach for good, and taking the
share back would no longer take anything back. A merge hands the merged leads to the
lead's owner; a conversion makes the lead's sale a deal of an owner the converting user
may assign, themselves or their team, not the lead's owner."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError

from smartweb import access
from smartweb.rbac import Action

NOT_BY_A_SHARE = "It is shared with you to work on: only those whose role reaches it reassign it."
NOT_MERGED_BY_A_SHARE = (
    "It is shared with you to work on: only those whose role reaches it merge leads into it."
)
NOT_CONVERTED_BY_A_SHARE = (
    "It is shared with you to work on: only those whose role reaches it convert it, so that"
    " its sale stays with its owner."
)


def may_reassign(user, record, resource: str) -> bool:
    """May `user`'s role alone (grants left out) change `record`? None is the system."""
    return user is None or access.can(user, Action.UPDATE, resource, obj=record, with_grants=False)


def refuse_reassigning_by_a_share(
    user, record, resource: str, field_name: str, refusal: str = NOT_BY_A_SHARE
) -> None:
    """A ValidationError at `field_name` unless `may_reassign` (`refusal`: what taking it
    over is called there; a lead's status set to converted says so)."""
    if not may_reassign(user, record, resource):
        raise ValidationError({field_name: refusal})


def refuse_merging_into_a_share(user, lead, resource: str) -> None:
    """PermissionDenied unless `may_reassign` (`lead` is the lead merged into)."""
    if not may_reassign(user, lead, resource):
        raise PermissionDenied(NOT_MERGED_BY_A_SHARE)


def refuse_converting_a_share(user, lead, resource: str) -> None:
    """PermissionDenied unless `may_reassign` (`lead` is the lead converted)."""
    if not may_reassign(user, lead, resource):
        raise PermissionDenied(NOT_CONVERTED_BY_A_SHARE)
