"""The organization's first AI call webhook secret created by two admins at once (real
sessions, committed): one secret is made, and both are shown it, in the admin and in
the API; never a server error, and never a second secret that stops the first one just
shown."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.crypto import decrypt
from crm import services
from crm.models import AICallWebhookSecret
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.accounts.conftest import audit_rows
from tests.concurrency import Racer, wait_until_blocked

pytestmark = pytest.mark.django_db(transaction=True)

SHOWN = re.compile(r"whsec_[\w-]+")


def _admin_page(admin, organization):
    client = factories.admin_browser(admin)

    def create():
        answer = client.post(reverse("admin:crm_campaign_webhook_secret"))
        return answer.status_code, SHOWN.findall(answer.content.decode())

    return create


def _api(admin, organization):
    client = factories.api_client(admin, organization)

    def create():
        answer = client.post("/api/v1/campaigns/webhook-secret/")
        return answer.status_code, [answer.json().get("secret")]

    return create


@pytest.mark.parametrize("channel", [_admin_page, _api])
def test_the_first_secret_created_by_two_admins_at_once_is_one_shown_to_both(channel):
    organization = factories.make_organization("Secret Race")
    admin = factories.org_admin(organization)
    other = factories.make_member(organization, "org_admin")
    create = channel(other, organization)
    with factories.acting_as(admin, organization), transaction.atomic():
        # The first admin's secret, not committed yet when the other's request comes.
        first = services.webhook_secret_rotate(acting_user=admin)
        second = Racer(create).start()
        wait_until_blocked(second)
    second.join()
    assert second.error is None, repr(second.error)
    assert second.result == (200, [first])
    with tenant_context(organization):
        [stored] = AICallWebhookSecret.objects.all()
        assert decrypt(stored.secret_encrypted) == first
    # Made once: the other request wrote nothing.
    rotations = audit_rows(organization, action=services.AUDIT_WEBHOOK_SECRET_ROTATED)
    assert [row.actor for row in rotations] == [admin]
