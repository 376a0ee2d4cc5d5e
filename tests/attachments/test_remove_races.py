"""Two posts of one file's Remove at once (a double click on a slow page), real sessions
committed: the second waits for the first, then goes back to the record's files saying
the file was already removed, and writes nothing."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from attachments.models import Attachment
from smartweb.tenancy.context import tenant_context
from tests import factories
from tests.attachments import factories as attachments
from tests.concurrency import Racer, wait_until_blocked
from tests.crm import factories as crm

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_remove_that_waited_for_another_says_the_file_was_already_removed():
    organization = factories.make_organization("Racing Removes")
    admin = factories.org_admin(organization)
    lead = crm.opportunity(organization, owner=admin).lead
    row = attachments.attach(organization, lead, "plan.pdf")
    client = Client()
    client.force_login(admin)
    url = reverse("admin:leads_lead_detach", args=[lead.pk, row.pk])
    page = reverse("admin:leads_lead_change", args=[lead.pk])

    with tenant_context(organization), transaction.atomic():
        Attachment.objects.get(pk=row.pk).delete()  # the first post, its lock held
        second = Racer(lambda: client.post(url)).start()
        wait_until_blocked(second)
    second.join()

    assert second.error is None, second.error
    assert (second.result.status_code, second.result["Location"]) == (302, f"{page}#attachments")
    assert "“plan.pdf” was already removed." in client.get(page).content.decode()
    with tenant_context(organization):
        assert Attachment.history.filter(id=row.pk).count() == 2  # added, removed once
