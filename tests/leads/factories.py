"""Factories of the leads app; every row is created inside its organization's context."""

from __future__ import annotations

from contextlib import contextmanager

import factory
from django.utils import timezone

from accounts.models import Membership
from leads import services
from leads.choices import BusinessType, InteractionType, LeadStatus
from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag, Tag
from leads.normalize import normalize_phone, website_domain
from smartweb.tenancy.context import tenant_context


class TenantFactory(factory.django.DjangoModelFactory):
    """Pass `organization=`; the row is written in that organization's context."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with tenant_context(kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)


class CompanyFactory(TenantFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Trade Co {n}")
    business_type = BusinessType.PLUMBER
    phone = factory.Sequence(lambda n: f"01632 {n:06d}")
    phone_normalized = factory.LazyAttribute(lambda o: normalize_phone(o.phone))
    email = factory.Sequence(lambda n: f"office{n}@trade{n}.test")
    email_normalized = factory.SelfAttribute("email")
    website = factory.Sequence(lambda n: f"https://www.trade{n}.test/")
    website_domain = factory.LazyAttribute(lambda o: website_domain(o.website))
    city = "Leeds"


class LeadFactory(TenantFactory):
    class Meta:
        model = Lead

    company = factory.SubFactory(
        CompanyFactory, organization=factory.SelfAttribute("..organization")
    )
    contact_name = factory.Faker("name")
    status = LeadStatus.NEW


class TagFactory(TenantFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"tag-{n}")


class LeadTagFactory(TenantFactory):
    class Meta:
        model = LeadTag


class InteractionFactory(TenantFactory):
    class Meta:
        model = Interaction

    lead = factory.SubFactory(LeadFactory, organization=factory.SelfAttribute("..organization"))
    type = InteractionType.CALL
    subject = factory.Sequence(lambda n: f"Call {n}")
    occurred_at = factory.LazyFunction(timezone.now)


class EnrichmentFactory(TenantFactory):
    class Meta:
        model = LeadEnrichment

    lead = factory.SubFactory(LeadFactory, organization=factory.SelfAttribute("..organization"))
    provider = "google_places"
    data = factory.LazyFunction(lambda: {"google_rating": 4.5})


def make_lead(organization, *, company=None, tags=(), **fields) -> Lead:
    """A lead made by the service (normalized keys, score), as the system."""
    company = company or {"name": f"Company for {fields.get('contact_name', 'lead')}"}
    with tenant_context(organization):
        return services.lead_create(
            acting_user=None,
            data=fields,
            company_data=company if isinstance(company, dict) else None,
            company=company if isinstance(company, Company) else None,
            tags=tags,
            allow_duplicate=True,
        )


@contextmanager
def acting_as(organization, user):
    """The context a request of `user` runs in: organization, user and membership."""
    with tenant_context(organization):
        membership = Membership.objects.select_related("role").get(user=user)
    with tenant_context(organization, user=user, membership=membership):
        yield
