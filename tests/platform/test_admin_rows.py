"""A list row's checkbox, written by the tenant admins themselves: the same markup as
Django's, escaping included."""

import uuid

import pytest
from django.contrib import admin

from leads.models import Tag

NAMES = ["hot", '<b>"Tom & Jerry\'s"</b>', "{} {0} %s", "Ünïcode — ✓"]


@pytest.mark.parametrize("name", NAMES)
def test_the_checkbox_is_djangos(name):
    model_admin = admin.site._registry[Tag]
    tag = Tag(pk=uuid.uuid4(), name=name)
    ours = model_admin.action_checkbox(tag)
    assert ours == admin.ModelAdmin.action_checkbox(model_admin, tag)
    assert str(tag.pk) in ours and "<b>" not in ours
