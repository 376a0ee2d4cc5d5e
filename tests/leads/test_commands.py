"""Management commands of the leads app and the demo data."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditLog, Organization
from leads import demo
from leads.models import Company, Interaction, Lead, Tag
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import make_lead

pytestmark = pytest.mark.django_db


def _run(*args, **kwargs):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def test_import_leads_command(tmp_path, org_a, rep_a):
    path = tmp_path / "leads.csv"
    path.write_text("Business,phone\nDrip,01632 960001\nSparky,01632 960002\n")
    out, _ = _run(
        "import_leads", str(path), "--organization", "acme", "--map", "Business=company_name"
    )
    assert "2 lead(s) created" in out
    with tenant_context(org_a):
        assert Lead.objects.count() == 2
    out, _ = _run(
        "import_leads",
        str(path),
        "--organization",
        str(org_a.pk),
        "--map",
        "Business=company_name",
        "--user",
        rep_a.email,
    )
    assert "2 duplicate(s) skipped" in out


def test_import_leads_command_reports_bad_rows(tmp_path, org_a):
    path = tmp_path / "leads.csv"
    path.write_text("company_name,phone\nDrip,01632 960001\nBad,nope\n")
    report = tmp_path / "report.json"
    with pytest.raises(CommandError, match="Nothing imported"):
        _run("import_leads", str(path), "--organization", "acme", "--report", str(report))
    assert '"field": "phone"' in report.read_text()
    with tenant_context(org_a):
        assert not Lead.objects.exists()
    out, err = _run("import_leads", str(path), "--organization", "acme", "--skip-bad-rows")
    assert "1 lead(s) created" in out and "row 3, phone" in err


def test_import_leads_command_writes_the_refused_rows_as_the_admin_offers_them(tmp_path, org_a):
    path = tmp_path / "leads.csv"
    path.write_text(
        "company_name,phone\nDrip,01632 960001\nBad,nope\n=Evil,01632 960003\nAlso bad,nope\n"
    )
    refused = tmp_path / "refused.csv"
    args = ("import_leads", str(path), "--organization", "acme", "--refused", str(refused))
    with pytest.raises(CommandError, match="Nothing imported"):
        _run(*args)
    phone_problem = "error: phone: Enter a phone number of digits, spaces, +, -, ( and )."
    expected = [
        ["import_row", "import_problems", "company_name", "phone"],
        ["3", phone_problem, "Bad", "nope"],
        ["5", phone_problem, "Also bad", "nope"],
    ]
    assert list(csv.reader(refused.open(newline=""))) == expected
    out, _ = _run(*args, "--skip-bad-rows")
    assert "2 lead(s) created, 0 duplicate(s) skipped, 2 bad row(s)" in out
    assert list(csv.reader(refused.open(newline=""))) == expected
    # Imported again: every row refused, a formula in one kept inert.
    with pytest.raises(CommandError, match="Nothing imported"):
        _run(*args)
    rows = list(csv.reader(refused.open(newline="")))
    assert [row[:1] + row[2:] for row in rows[1:]] == [
        ["2", "Drip", "01632 960001"],
        ["3", "Bad", "nope"],
        ["4", "'=Evil", "01632 960003"],
        ["5", "Also bad", "nope"],
    ]
    assert rows[1][1].startswith("duplicate: phone: Duplicate of lead (Drip)")


@pytest.mark.parametrize("option", ["--refused", "--report"])
def test_import_leads_command_writes_no_file_when_it_cannot_import(tmp_path, org_a, option):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02")
    written = tmp_path / "written"
    with pytest.raises(CommandError, match="binary"):
        _run("import_leads", str(binary), "--organization", "acme", option, str(written))
    assert not written.exists()
    path = tmp_path / "leads.csv"
    path.write_text("company_name\nDrip\n")
    nowhere = tmp_path / "missing" / "written"
    with pytest.raises(CommandError, match="Cannot write"):
        _run("import_leads", str(path), "--organization", "acme", option, str(nowhere))
    with tenant_context(org_a):
        assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--organization", "nowhere"], "No organization"),
        (["--organization", "acme", "--map", "x"], "Bad mapping"),
        (["--organization", "acme", "--user", "stranger@example.test"], "not an active member"),
    ],
)
def test_import_leads_command_refuses_bad_arguments(tmp_path, org_a, args, message):
    path = tmp_path / "leads.csv"
    path.write_text("company_name\nDrip\n")
    with pytest.raises(CommandError, match=message):
        _run("import_leads", str(path), *args)


def test_import_leads_command_refuses_bad_files(tmp_path, org_a):
    with pytest.raises(CommandError, match="Cannot read"):
        _run("import_leads", str(tmp_path / "missing.csv"), "--organization", "acme")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(CommandError, match="binary"):
        _run("import_leads", str(binary), "--organization", "acme")


def test_export_leads_command_respects_the_scope(tmp_path, org_a, rep_a, lead_a, lead_a2):
    out, _ = _run("export_leads", "--organization", "acme")
    assert "Drip Drop" in out and "Sparky" in out
    target = tmp_path / "mine.csv"
    _run("export_leads", "--organization", "acme", "--user", rep_a.email, "-o", str(target))
    assert "Drip Drop" in target.read_text() and "Sparky" not in target.read_text()
    with tenant_context(org_a):
        assert AuditLog.objects.filter(action="data.export").count() == 2


def test_rescore_leads_command(org_a, lead_a):
    Organization.objects.filter(pk=org_a.pk).update(
        settings={"lead_scoring": {"weights": {"business_type": 90}}}
    )
    out, _ = _run("rescore_leads", "--organization", "acme", "--no-progress")
    assert "1 lead score(s) changed" in out
    with tenant_context(org_a):
        lead = Lead.objects.get(pk=lead_a.pk)
    assert lead.score_breakdown["factors"]["business_type"]["weight"] == 90
    with pytest.raises(CommandError):
        _run("rescore_leads", "--organization", "nowhere")


def test_demo_data_is_realistic_and_idempotent(org_a, org_b, admin_a, manager_a, rep_a):
    users = {"admin": admin_a, "manager": manager_a, "rep": rep_a}
    with tenant_context(org_a, user=admin_a):
        demo.load_demo(organization=org_a, users=users)
        counts = (Company.objects.count(), Lead.objects.count(), Interaction.objects.count())
        assert counts[0] == counts[1] == demo.COMPANIES_PER_ORGANIZATION
        assert counts[2] > 100
        assert Lead.objects.filter(assigned_to=rep_a).exists()
        assert Lead.objects.filter(status="qualified").exists()
        assert Lead.objects.filter(lead_score__gt=50).exists()
        assert Tag.objects.count() == len(demo.TAGS)
        history = Lead.history.count()
        demo.load_demo(organization=org_a, users=users)
        assert (
            Company.objects.count(),
            Lead.objects.count(),
            Interaction.objects.count(),
        ) == counts
        assert Lead.history.count() == history
    with tenant_context(org_b):
        assert not Lead.objects.exists()


def test_demo_fills_in_what_is_missing(org_a, admin_a, manager_a, rep_a):
    users = {"admin": admin_a, "manager": manager_a, "rep": rep_a}
    with tenant_context(org_a, user=admin_a):
        demo.load_demo(organization=org_a, users=users)
        victim = Company.objects.order_by("metadata__demo_key").first()
        key = victim.metadata["demo_key"]
        Lead.all_objects.filter(company=victim).delete()
        Interaction.all_objects.filter(lead__company=victim).hard_delete()
        Lead.all_objects.filter(company=victim).hard_delete()
        victim.hard_delete()
        demo.load_demo(organization=org_a, users=users)
        assert Company.objects.filter(metadata__demo_key=key).count() == 1
        assert Company.objects.count() == demo.COMPANIES_PER_ORGANIZATION


def test_duplicates_of_demo_and_real_leads_are_found(org_a, admin_a, manager_a, rep_a):
    make_lead(org_a, company={"name": "Dup", "phone": "01632 960000"})
    users = {"admin": admin_a, "manager": manager_a, "rep": rep_a}
    with tenant_context(org_a, user=admin_a):
        demo.load_demo(organization=org_a, users=users)
        from leads.selectors import duplicate_groups

        groups, _ = duplicate_groups(Lead.objects.all())
    assert len(groups) == 1
