"""Lead services: validation, de-duplication, merge, workflow, interactions, scoring."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Organization
from leads import selectors, services
from leads.choices import InteractionType, LeadStatus, Outcome, WebsiteStatus
from leads.exceptions import DuplicateLead, InvalidTransition
from leads.models import Company, Interaction, Lead, LeadEnrichment, LeadTag
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import InteractionFactory, TagFactory, acting_as, make_lead

pytestmark = pytest.mark.django_db

COMPANY = {
    "name": "Drip Drop Plumbing",
    "business_type": "plumber",
    "phone": "01632 960123",
    "email": "Office@DripDrop.test",
    "website": "www.dripdrop.test",
    "online_presence": {"website_status": "outdated", "google_rating": 4.5},
}


def _create(org, user, company=None, **data):
    with acting_as(org, user):
        return services.lead_create(
            acting_user=user, data=data, company_data=company or dict(COMPANY)
        )


def test_create_normalizes_keys_scores_and_assigns_a_rep_to_themselves(org_a, rep_a):
    lead = _create(org_a, rep_a, contact_name="Dana", contact_phone="+44 (0)7700 900123")
    company = lead.company
    assert company.phone_normalized == "+441632960123"
    assert company.email == company.email_normalized == "office@dripdrop.test"
    assert company.website == "https://www.dripdrop.test"
    assert company.website_domain == "dripdrop.test"
    assert lead.contact_phone_normalized == "+4407700900123"
    assert lead.assigned_to == rep_a
    assert 0 < lead.lead_score <= 100
    assert lead.score_breakdown["factors"]["website"]["reason"] == "Website: outdated"


@pytest.mark.parametrize(
    "company, field",
    [
        ({**COMPANY, "phone": "call me maybe"}, "phone"),
        ({**COMPANY, "phone": "123"}, "phone"),
        ({**COMPANY, "email": "not-an-email"}, "email"),
        ({**COMPANY, "website": "http://"}, "website"),
        ({**COMPANY, "business_type": "astronaut"}, "business_type"),
        ({**COMPANY, "online_presence": {"website_status": "shiny"}}, "online_presence"),
        ({**COMPANY, "online_presence": {"google_rating": 9}}, "online_presence"),
        ({**COMPANY, "name": "  "}, "name"),
    ],
)
def test_bad_company_input_is_refused_and_nothing_written(org_a, admin_a, company, field):
    with pytest.raises(ValidationError) as exc:
        _create(org_a, admin_a, company=company)
    assert field in exc.value.message_dict
    with tenant_context(org_a):
        assert not Company.all_objects.exists()


@pytest.mark.parametrize("score", [-1, 101])
def test_score_override_outside_range_is_refused(org_a, admin_a, score):
    with pytest.raises(ValidationError) as exc:
        _create(org_a, admin_a, score_override=score)
    assert "score_override" in exc.value.message_dict


def test_score_override_replaces_the_computed_score(org_a, admin_a):
    lead = _create(org_a, admin_a, score_override=88)
    assert lead.lead_score == 88
    assert lead.score_breakdown["override"] == 88
    assert "factors" in lead.score_breakdown


def test_duplicates_by_phone_email_or_domain_are_refused_unless_allowed(org_a, admin_a):
    first = _create(org_a, admin_a)
    for company in (
        {"name": "Other", "phone": "+44 1632 960123"},
        {"name": "Other", "email": "OFFICE@dripdrop.test"},
        {"name": "Other", "website": "https://dripdrop.test/contact"},
    ):
        with pytest.raises(DuplicateLead) as exc:
            _create(org_a, admin_a, company=company)
        assert [d.lead for d in exc.value.duplicates] == [first]
    with acting_as(org_a, admin_a):
        services.lead_create(
            acting_user=admin_a,
            data={},
            company_data={"name": "Other", "phone": "01632 960123"},
            allow_duplicate=True,
        )
        assert Lead.objects.count() == 2


def test_a_live_lead_matches_by_its_deleted_company_keys_too(org_a, admin_a):
    """The company keys are looked up apart from the leads (selectors.duplicates_query);
    a company deleted under a lead that lives on still counts, as when they were joined."""
    first = _create(org_a, admin_a, contact_email="dana@elsewhere.test")
    with tenant_context(org_a):
        Company.objects.filter(pk=first.company_id).update(deleted_at=timezone.now())
        for keys in ({"website": {"dripdrop.test"}}, {"email": {"dana@elsewhere.test"}}):
            found = selectors.duplicates_of(keys=keys)
            assert [(d.lead, d.matched_on) for d in found] == [(first, list(keys))]
        assert selectors.duplicates_of(keys={"phone": {"+449999999999"}}) == []


def test_duplicates_are_per_organization(org_a, org_b, admin_a, admin_b):
    _create(org_a, admin_a)
    lead_b = _create(org_b, admin_b)
    assert lead_b.organization_id == org_b.pk


def test_merge_moves_everything_and_keeps_history(org_a, admin_a):
    primary = make_lead(org_a, company={"name": "A", "phone": "01632 960001"})
    duplicate = make_lead(
        org_a,
        company={"name": "A dup", "phone": "01632 960001", "email": "a@a.test"},
        contact_name="Alex",
        do_not_contact=True,
    )
    tag = TagFactory(organization=org_a)
    with acting_as(org_a, admin_a):
        services.lead_set_tags(lead=duplicate, tags=[tag], acting_user=admin_a)
        services.interaction_log(
            lead=duplicate, acting_user=admin_a, data={"type": "call", "subject": "Hi"}
        )
        services.enrichment_record(
            lead=duplicate, acting_user=admin_a, provider="maps", data={"google_rating": 4.1}
        )
        merged = services.leads_merge(primary=primary, duplicates=[duplicate], acting_user=admin_a)
        assert merged.contact_name == "Alex"
        assert merged.do_not_contact and merged.lead_score == 0
        assert merged.company.email == "a@a.test"
        assert list(merged.tags.all()) == [tag]
        assert Interaction.objects.filter(lead=merged, type=InteractionType.CALL).count() == 1
        assert LeadEnrichment.objects.filter(lead=merged).count() == 1
        gone = Lead.all_objects.get(pk=duplicate.pk)
        assert gone.is_deleted and gone.merged_into_id == merged.pk
        assert Company.all_objects.get(pk=duplicate.company_id).is_deleted
        assert gone.history.filter(merged_into_id=merged.pk).exists()
        note = Interaction.objects.filter(lead=merged, type=InteractionType.NOTE).first()
        assert note.subject == "Merged 1 duplicate lead(s)"


def test_merge_needs_delete_permission_on_the_duplicates(org_a, rep_a):
    mine = make_lead(org_a, assigned_to=rep_a)
    other = make_lead(org_a, assigned_to=rep_a)
    with acting_as(org_a, rep_a), pytest.raises(PermissionDenied):
        services.leads_merge(primary=mine, duplicates=[other], acting_user=rep_a)


def test_duplicate_groups_join_leads_through_any_key(org_a):
    a = make_lead(org_a, company={"name": "A", "phone": "01632 960001"})
    b = make_lead(org_a, company={"name": "B", "phone": "01632 960001", "email": "x@x.test"})
    c = make_lead(org_a, company={"name": "C"}, contact_email="X@x.test")
    make_lead(org_a, company={"name": "D", "phone": "01632 960002"})
    from leads.selectors import duplicate_groups

    with tenant_context(org_a):
        groups, truncated = duplicate_groups(Lead.objects.all())
    assert not truncated
    assert len(groups) == 1
    assert {lead.pk for lead in groups[0]["leads"]} == {a.pk, b.pk, c.pk}
    assert groups[0]["matched_on"] == ["email", "phone"]


def test_transitions_follow_the_graph(org_a, admin_a):
    lead = make_lead(org_a)
    with acting_as(org_a, admin_a):
        lead = services.lead_change_status(lead=lead, status="contacted", acting_user=admin_a)
        with pytest.raises(InvalidTransition) as exc:
            services.lead_change_status(lead=lead, status="new", acting_user=admin_a)
        assert exc.value.allowed == ["qualified", "unqualified", "nurturing", "converted", "lost"]
        note = Interaction.objects.get(lead=lead)
        assert note.type == InteractionType.NOTE
        assert note.subject == "Status changed from New to Contacted"
        assert note.created_by == admin_a


def test_qualifying_below_threshold_needs_a_reason(org_a, admin_a):
    lead = make_lead(
        org_a, company={"name": "Modern", "online_presence": {"website_status": "modern"}}
    )
    with acting_as(org_a, admin_a):
        assert Lead.objects.get(pk=lead.pk).lead_score < 50
        with pytest.raises(ValidationError) as exc:
            services.lead_qualify(lead=lead, acting_user=admin_a)
        assert "reason" in exc.value.message_dict
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW
        lead = services.lead_qualify(lead=lead, acting_user=admin_a, reason="Owner keen")
        assert lead.status == LeadStatus.QUALIFIED
        assert Interaction.objects.get(lead=lead).content == "Owner keen"


def test_a_score_override_does_not_qualify_without_the_reason(org_a, rep_a):
    """A rep who types in a score of 100 still owes the reason the computed score asks."""
    lead = make_lead(
        org_a,
        assigned_to=rep_a,
        company={"name": "Modern", "online_presence": {"website_status": "modern"}},
    )
    with acting_as(org_a, rep_a):
        lead = services.lead_update(lead=lead, acting_user=rep_a, data={"score_override": 100})
        assert lead.lead_score == 100
        with pytest.raises(ValidationError) as exc:
            services.lead_qualify(lead=lead, acting_user=rep_a)
        assert "below the qualification threshold" in exc.value.message_dict["reason"][0]
        assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW
        lead = services.lead_qualify(lead=lead, acting_user=rep_a, reason="Owner keen")
        assert lead.status == LeadStatus.QUALIFIED


def test_threshold_comes_from_the_organization(org_a, admin_a):
    Organization.objects.filter(pk=org_a.pk).update(settings={"qualification_threshold": 0})
    lead = make_lead(org_a, company={"name": "M", "online_presence": {"website_status": "modern"}})
    with acting_as(org_a, admin_a):
        assert services.lead_qualify(lead=lead, acting_user=admin_a).status == "qualified"


def test_logging_a_contact_moves_last_contacted_and_rescores(org_a, rep_a):
    lead = make_lead(org_a, assigned_to=rep_a)
    before = lead.lead_score
    when = timezone.now() - dt.timedelta(hours=1)
    with acting_as(org_a, rep_a):
        services.interaction_log(
            lead=lead,
            acting_user=rep_a,
            data={"type": "call", "occurred_at": when, "outcome": Outcome.MEETING_BOOKED},
        )
        lead = Lead.objects.get(pk=lead.pk)
        assert lead.last_contacted_at == when
        assert lead.lead_score > before
        services.interaction_log(
            lead=lead,
            acting_user=rep_a,
            data={"type": "note", "occurred_at": timezone.now()},
        )
        assert Lead.objects.get(pk=lead.pk).last_contacted_at == when


def test_a_call_logged_on_a_lead_read_before_another_change_scores_the_stored_lead(org_a, rep_a):
    """The lead as the request read it, then marked do-not-contact by a concurrent
    request that committed first: the new score is from the stored lead."""
    lead = make_lead(org_a, assigned_to=rep_a)
    with acting_as(org_a, rep_a):
        read_first = Lead.objects.get(pk=lead.pk)
        services.lead_update(lead=lead, acting_user=rep_a, data={"do_not_contact": True})

        services.interaction_log(lead=read_first, acting_user=rep_a, data={"type": "call"})

        stored = Lead.objects.get(pk=lead.pk)
    assert (stored.do_not_contact, stored.lead_score) == (True, 0)
    assert stored.score_breakdown["do_not_contact"] is True
    assert read_first.lead_score == 0  # the caller's instance carries the new score


def test_a_note_locks_its_lead_and_checks_it_is_not_merged_away_in_one_statement(
    org_a, rep_a, django_assert_num_queries
):
    """Its statements: the savepoint, the lead's lock, which reads whether the lead was
    deleted or merged away meanwhile (`lock_lead_to_add_to`), the erasure check, the
    note and its history row, the re-score's lock, settings and engagement counts (the
    score unchanged, nothing saved), the release. The merge check was a statement of its
    own after the lock."""
    lead = make_lead(org_a, assigned_to=rep_a)
    with acting_as(org_a, rep_a):
        services.interaction_log(lead=lead, acting_user=rep_a, data={"type": "note"})
        with django_assert_num_queries(9):
            services.interaction_log(lead=lead, acting_user=rep_a, data={"type": "note"})


def test_rep_cannot_log_on_someone_elses_lead(org_a, rep_a, rep_a2):
    lead = make_lead(org_a, assigned_to=rep_a2)
    with acting_as(org_a, rep_a), pytest.raises(PermissionDenied):
        services.interaction_log(lead=lead, acting_user=rep_a, data={"type": "call"})


def test_assignment_follows_the_scope(org_a, manager_a, rep_a, rep_a2, admin_b):
    lead = make_lead(org_a, assigned_to=rep_a)
    with acting_as(org_a, manager_a):
        services.lead_update(lead=lead, acting_user=manager_a, data={"assigned_to": manager_a})
        with pytest.raises(ValidationError):
            services.lead_update(lead=lead, acting_user=manager_a, data={"assigned_to": rep_a2})
        with pytest.raises(ValidationError):
            services.lead_update(lead=lead, acting_user=manager_a, data={"assigned_to": admin_b})


def test_enrichment_updates_presence_and_score(org_a, admin_a):
    lead = make_lead(org_a, company={"name": "E"})
    with acting_as(org_a, admin_a):
        services.enrichment_record(
            lead=lead,
            acting_user=admin_a,
            provider="website-scan",
            data={"website_status": WebsiteStatus.NONE, "phone": "01632 960999"},
            confidence="0.9",
        )
        lead = Lead.objects.select_related("company").get(pk=lead.pk)
        assert lead.company.online_presence["website_status"] == "none"
        assert lead.company.phone_normalized == "+441632960999"
        assert lead.score_breakdown["factors"]["website"]["points"] == 30.0
        with pytest.raises(ValidationError):
            services.enrichment_record(
                lead=lead, acting_user=admin_a, provider="x", data={}, confidence=2
            )


def test_tags_of_another_organization_are_refused(org_a, org_b, admin_a):
    lead = make_lead(org_a)
    foreign = TagFactory(organization=org_b)
    with acting_as(org_a, admin_a):
        with pytest.raises(ValidationError):
            services.lead_set_tags(lead=lead, tags=[foreign], acting_user=admin_a)
        assert not LeadTag.objects.exists()


def test_rescore_all_writes_history_only_for_changes(org_a):
    leads = [make_lead(org_a, company={"name": f"R{i}"}) for i in range(3)]
    Organization.objects.filter(pk=org_a.pk).update(
        settings={"lead_scoring": {"weights": {"website": 90}}}
    )
    with tenant_context(org_a):
        InteractionFactory(organization=org_a, lead=leads[0], outcome=Outcome.INTERESTED)
        assert services.leads_rescore(queryset=Lead.objects.all(), acting_user=None) == (3, 0)
        assert services.leads_rescore(queryset=Lead.objects.all(), acting_user=None) == (0, 0)
        assert Lead.objects.get(pk=leads[0].pk).score_breakdown["factors"]["engagement"][
            "value"
        ] == pytest.approx(0.35)
        assert leads[1].history.count() == 2


def test_two_leads_with_an_open_deal_each_are_not_merged(org_a, admin_a):
    from crm.models import Opportunity
    from tests.crm import factories as crm_factories

    first = crm_factories.opportunity(org_a).lead
    second = crm_factories.opportunity(org_a).lead
    with acting_as(org_a, admin_a), pytest.raises(ValidationError, match="open opportunity"):
        services.leads_merge(primary=first, duplicates=[second], acting_user=admin_a)
    with tenant_context(org_a):
        assert Lead.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
        assert Opportunity.objects.filter(lead=second).count() == 1


def _lone_company(org, user, name="Lone Boilers"):
    """A company recorded by `user` with no lead yet (theirs, by `created_by`)."""
    with acting_as(org, user):
        return services.company_create(acting_user=user, data={"name": name})


def _message(exc) -> list[str]:
    return exc.value.message_dict["company"]


def test_a_new_lead_takes_only_a_company_its_creator_may_read(
    org_a, manager_a, rep_a, rep_a2, admin_a
):
    """A lead makes its company its assignee's: a rep giving their new lead a company they
    may not read took it over (read and changed it after). Refused as a company that does
    not exist, with no word of whether it does."""
    managers = _lone_company(org_a, manager_a)
    with tenant_context(org_a):
        gone = Company.objects.create(name="Gone")
        gone.delete()
    for company in (managers, gone):
        with acting_as(org_a, rep_a), pytest.raises(ValidationError) as exc:
            services.lead_create(
                acting_user=rep_a,
                data={"contact_name": "Dana", "assigned_to": rep_a},
                company=company,
                allow_duplicate=True,
            )
        assert _message(exc) == ["Unknown company."]
    with tenant_context(org_a):
        assert not Lead.all_objects.exists()
    # Who may read it gives it its lead: its creator, and whoever reads all companies.
    with acting_as(org_a, manager_a):
        lead = services.lead_create(
            acting_user=manager_a, data={"assigned_to": rep_a}, company=managers
        )
    assert lead.company_id == managers.pk
    own = _lone_company(org_a, admin_a, "Admin's")
    with acting_as(org_a, admin_a):
        assert services.lead_create(acting_user=admin_a, data={}, company=own).company == own


def test_the_company_of_a_lead_in_the_trash_is_not_taken(org_a, admin_a, rep_a):
    """A deleted lead keeps its company (restoring the lead finds it again): a new lead
    is refused it, as "already has a lead" to who may read the company, and as an
    unknown company to who may not (the rep whose lead it was)."""
    lead = make_lead(org_a, assigned_to=rep_a, contact_name="Dana")
    with acting_as(org_a, admin_a):
        services.lead_delete(lead=lead, acting_user=admin_a)
    for user, message in (
        (admin_a, "This company already has a lead."),
        (rep_a, "Unknown company."),
    ):
        with acting_as(org_a, user), pytest.raises(ValidationError) as exc:
            services.lead_create(
                acting_user=user,
                data={"assigned_to": rep_a},
                company=lead.company,
                allow_duplicate=True,
            )
        assert _message(exc) == [message]
    with tenant_context(org_a):
        assert Lead.all_objects.filter(company=lead.company).count() == 1
