"""What the generic admin checks read from the database: the demo organization, a row
as stored with its relations (and an unchanged save that must leave it so), which rows a
dropdown may offer; and a row held locked by another session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib import admin
from django.db import models

from accounts.models import Membership, Organization, User
from smartweb.tenancy.context import tenant_context
from tests.concurrency import second_connection

ROLES = ("admin", "manager", "rep")


def email_of(role: str, organization: str = "demo") -> str:
    return f"{role}@{organization}.smartweb.test"


def registered_admins() -> list[admin.ModelAdmin]:
    return sorted(admin.site._registry.values(), key=lambda a: a.model._meta.label)


def searched(browser, url: str, term: str) -> list[str]:
    """The rows of the admin list at `url` shown once `term` is typed in its search box
    and searched: their change pages' paths."""
    browser.open(url)
    browser.fill("q", term)
    browser.click("#changelist-search input[type=submit]")
    links = [link.split("?")[0] for link in browser.result_links()]
    return [link for link in links if link.startswith(url)]


def demo_organization(slug: str = "demo") -> Organization:
    return Organization.objects.get(slug=slug)


@contextmanager
def held(row: models.Model) -> Iterator[None]:
    """The demo organization's `row` locked by another session (a colleague's edit that
    takes its time) until the block ends."""
    with second_connection(demo_organization()) as other, other.transaction():
        table = row._meta.db_table
        other.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [row.pk])
        yield


def snapshot(model_admin: admin.ModelAdmin, pk) -> dict:
    """The row, its many-to-many links and its inlines' rows, as stored. `updated_at`
    is left out: the services stamp it on every save (see the closing notes)."""
    model = model_admin.model
    with tenant_context(demo_organization()):
        row = model._base_manager.filter(pk=pk).values().get()
        row.pop("updated_at", None)
        obj = model._base_manager.get(pk=pk)
        state = {"row": row}
        for field in model._meta.many_to_many:
            state[field.name] = sorted(str(v) for v in getattr(obj, field.name).values_list("pk"))
        for inline in model_admin.inlines:
            fk = _inline_key(inline.model, model)
            rows = inline.model._base_manager.filter(**{fk: pk}).order_by("pk").values()
            state[inline.model._meta.label] = [
                {k: v for k, v in r.items() if k != "updated_at"} for r in rows
            ]
    return state


def _inline_key(child, parent) -> str:
    for field in child._meta.fields:
        if isinstance(field, models.ForeignKey) and field.related_model is parent:
            return field.name
    raise LookupError(f"{child} has no key to {parent}")


def relation_of(model, name: str):
    """The related model of a form field name (`field` or an inline's `prefix-N-field`)."""
    field_name = name.rsplit("-", 1)[-1]
    candidates = [model, *(m for m in _inline_models(model))] if "-" in name else [model]
    for candidate in candidates:
        try:
            field = candidate._meta.get_field(field_name)
        except Exception:  # noqa: S112  (not a field of this model: try the next)
            continue
        if field.is_relation and field.related_model is not None:
            return field.related_model
    return None


def _inline_models(model):
    model_admin = admin.site._registry.get(model)
    return [inline.model for inline in getattr(model_admin, "inlines", [])]


def foreign_options(related_model, values: list[str], slug: str = "demo") -> list[str]:
    """The offered values that are not rows of the organization (should be none)."""
    organization = demo_organization(slug)
    if related_model is User:
        members = Membership._base_manager
        with tenant_context(organization):
            found = {
                str(v) for v in members.filter(user_id__in=values).values_list("user_id", flat=True)
            }
    elif related_model is Organization:
        found = {str(organization.pk)} & set(values)
    else:
        with tenant_context(organization):
            found = {
                str(v)
                for v in related_model._base_manager.filter(pk__in=values).values_list(
                    "pk", flat=True
                )
            }
    return sorted(set(values) - found)


def deleted_options(related_model, values: list[str]) -> list[str]:
    """The offered values that are rows in the trash (an autocomplete should offer none)."""
    if not hasattr(related_model, "all_objects"):
        return []
    with tenant_context(demo_organization()):
        return sorted(
            str(pk)
            for pk in related_model.all_objects.filter(
                pk__in=values, deleted_at__isnull=False
            ).values_list("pk", flat=True)
        )


def has_candidates(related_model) -> bool:
    with tenant_context(demo_organization()):
        if related_model is User:
            return Membership.objects.exists()
        return related_model._default_manager.exists()


def save_unchanged(browser, model_admin: admin.ModelAdmin, pk) -> None:
    """Save the change page open in `browser` as it is shown: the form is accepted, the
    page says so, and the row, its links and its inlines' rows are as they were."""
    before = snapshot(model_admin, pk)
    browser.save()
    assert browser.errors() == [], "an unchanged form was refused"
    assert browser.messages(), "the save said nothing"
    assert differences(before, snapshot(model_admin, pk)) == {}


def differences(before: dict, after: dict) -> dict:
    """What changed between two snapshots: {part: {field: (before, after)}}."""
    changed = {}
    for part in before.keys() | after.keys():
        old, new = before.get(part), after.get(part)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[part] = {
                k: (old.get(k), new.get(k)) for k in old | new if old.get(k) != new.get(k)
            }
        else:
            changed[part] = (old, new)
    return changed


def filter_by_own_name(browser, role: str, submit: str) -> None:
    """On a page with an owner filter (the board, the sales dashboard), as the demo `role`:
    "Me (name)" is offered first, then only the owners whose deals the role sees (a rep:
    none else; the team's second rep, in no team, to the admin alone); choosing oneself
    (`submit` sends the filter) is answered without an error and kept."""
    me = User.objects.get(email=email_of(role))
    outsider = User.objects.get(email=email_of("rep2")).get_full_name()
    owners = list(browser.options("owner").values())
    assert owners[0] == f"Me ({me.get_full_name()})", owners
    if role == "rep":
        assert owners == owners[:1]
    assert (outsider in owners) == (role == "admin"), owners
    browser.choose("owner", value=str(me.pk))
    browser.click(submit)
    assert browser.errors() == [], browser.errors()
    assert browser.selected("owner") == [str(me.pk)]
