"""The demo as the README describes it: every seeded login is in its table, and the demo
sales data is priced in the demo organization's own currency."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import Membership, Organization
from crm.models import Contract, Opportunity, Proposal, ProposalLineItem
from smartweb.tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _readme_logins() -> set[str]:
    text = Path(settings.BASE_DIR, "README.md").read_text()
    return set(re.findall(r"^\| `([^`]+@[^`]+)` \|", text, flags=re.MULTILINE))


@pytest.mark.timeout(1200)  # the whole demo is loaded: minutes on a busy machine
def test_the_readme_lists_every_seeded_login_and_the_data_is_in_the_organization_s_currency():
    call_command("seed_demo")
    seeded = set()
    for organization in Organization.objects.filter(slug__in=["demo", "northwind"]):
        with tenant_context(organization):
            seeded |= set(Membership.objects.values_list("user__email", flat=True))
            currency = organization.settings["currency"]
            assert currency == "GBP"
            for model in (Opportunity, Proposal, Contract):
                assert set(model.objects.values_list("currency", flat=True)) == {currency}
            lines = ProposalLineItem.objects.values_list("proposal__currency", flat=True)
            assert set(lines) == {currency}
    assert seeded == _readme_logins()
