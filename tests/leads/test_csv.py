"""CSV import and export: per-row errors, both modes, duplicates, refused files."""

import csv
import io
import tracemalloc
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import AuditLog
from leads import csv_io
from leads.models import Company, Lead, LeadTag, Tag
from smartweb.origin import command_origin
from smartweb.tenancy.context import tenant_context
from tests.leads.factories import acting_as, make_lead

pytestmark = pytest.mark.django_db

HEADER = "company_name,business_type,phone,email,website,contact_name,status,tags,assigned_to\n"


def _import(org, user, text, **kwargs):
    source = io.BytesIO(text.encode() if isinstance(text, str) else text)
    with acting_as(org, user):
        return csv_io.import_leads(source=source, acting_user=user, **kwargs)


def _leads(org):
    with tenant_context(org):
        return list(Lead.objects.select_related("company", "assigned_to").order_by("company__name"))


def test_a_good_file_imports_everything(org_a, admin_a, rep_a):
    text = HEADER + (
        "Drip Drop,plumber,01632 960001,office@drip.test,drip.test,Dana,new,hot; wet,"
        f"{rep_a.email}\n"
        'Sparky,electrician,01632 960002,,,"Sam, Jr",contacted,hot,\n'
    )
    with command_origin("import_leads") as origin:
        report = _import(org_a, admin_a, text)
    assert report.committed and report.created == 2 and not report.errors
    drip, sparky = _leads(org_a)
    assert drip.company.website == "https://drip.test" and drip.assigned_to == rep_a
    assert drip.source == "import" and drip.lead_score > 0
    assert sparky.contact_name == "Sam, Jr" and sparky.status == "contacted"
    with tenant_context(org_a):
        assert set(Tag.objects.values_list("name", flat=True)) == {"hot", "wet"}
        assert LeadTag.objects.count() == 3
        assert drip.history.count() == 1 and drip.company.history.count() == 1
        # The rows written in bulk name the command that wrote them, like any other.
        assert (
            {drip.history.get().history_request_id}
            == {drip.company.history.get().history_request_id}
            == {origin.request_id}
        )


def test_errors_name_the_row_the_field_and_the_reason(org_a, admin_a):
    text = HEADER + (
        "Good,plumber,01632 960001,,,,new,,\n"
        "Bad phone,plumber,phone me,,,,new,,\n"
        "Bad all,astronaut,,not-an-email,http://,,sleeping,,nobody@x.test\n"
        ",plumber,,,,,new,,\n"
        "Short row,plumber\n"
    )
    report = _import(org_a, admin_a, text)
    assert not report.committed and report.created == 0
    issues = {(e.row, e.field) for e in report.errors}
    assert (3, "phone") in issues
    assert {(4, "business_type"), (4, "email"), (4, "website")} <= issues
    assert (4, "status") in issues and (4, "assigned_to") in issues
    assert (5, "company_name") in issues
    assert (6, "") in issues
    assert report.bad_rows == 4
    assert all(e.reason for e in report.errors)
    assert _leads(org_a) == []


def test_skip_bad_rows_imports_the_good_ones(org_a, admin_a):
    text = HEADER + "Good,plumber,01632 960001,,,,new,,\nBad,plumber,nope,,,,new,,\n"
    report = _import(org_a, admin_a, text, skip_bad_rows=True)
    assert report.committed and report.created == 1 and report.bad_rows == 1
    assert [lead.company.name for lead in _leads(org_a)] == ["Good"]


def test_duplicates_are_reported_not_doubled(org_a, admin_a):
    make_lead(org_a, company={"name": "Existing", "phone": "01632 960001"})
    text = HEADER + (
        "Same phone,plumber,+44 1632 960001,,,,new,,\n"
        "New one,plumber,01632 960009,a@new.test,,,new,,\n"
        "Same email in file,plumber,,A@NEW.TEST,,,new,,\n"
    )
    report = _import(org_a, admin_a, text)
    assert report.committed and report.created == 1
    assert [(d.row, d.field) for d in report.duplicates] == [(2, "phone"), (4, "email")]
    assert report.duplicates[0].reason == "Duplicate of lead (Existing) (phone)."
    assert report.duplicates[1].reason == "Duplicate of row 3."
    assert _import(org_a, admin_a, text).created == 0
    assert len(_leads(org_a)) == 2


def test_column_mapping_and_aliases(org_a, admin_a):
    text = "Business,Telephone,Postcode,Ref\nDrip,01632 960001,LS1 1AA,77\n"
    report = _import(org_a, admin_a, text, mapping={"business": "company_name"})
    assert report.created == 1 and report.ignored_columns == ["Ref"]
    company = _leads(org_a)[0].company
    assert company.phone_normalized == "+441632960001" and company.postal_code == "LS1 1AA"
    with pytest.raises(ValueError):
        csv_io.parse_mapping(["Business=colour"])


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\xff\xfe\x00n\x00a\x00m\x00e", "UTF-8"),
        (b"name\x00,x\n", "binary"),
        (b"contact_name\nDana\n", "company name column"),
    ],
)
def test_malformed_files_are_refused_clearly(org_a, admin_a, content, message):
    with pytest.raises(csv_io.ImportRefused, match=message):
        _import(org_a, admin_a, content)
    assert _leads(org_a) == []


def test_an_unterminated_quote_is_a_bad_row_not_a_crash(org_a, admin_a):
    report = _import(org_a, admin_a, b'company_name,phone\nGood,\n"Open quote,01632 960001\n')
    assert not report.committed
    assert [(e.row, e.field) for e in report.errors] == [(3, "")]


def test_oversized_files_are_refused(org_a, admin_a, monkeypatch):
    monkeypatch.setattr(csv_io, "MAX_BYTES", 100)
    with pytest.raises(csv_io.ImportRefused, match="larger than"):
        _import(org_a, admin_a, HEADER + "x" * 200)
    monkeypatch.setattr(csv_io, "MAX_BYTES", 10_000)
    monkeypatch.setattr(csv_io, "MAX_ROWS", 2)
    with pytest.raises(csv_io.ImportRefused, match="more than 2 rows"):
        _import(org_a, admin_a, HEADER + "A,,,,,,,,\nB,,,,,,,,\nC,,,,,,,,\n")


def test_a_rep_imports_leads_for_themselves_only(org_a, rep_a, rep_a2):
    text = HEADER + "Mine,plumber,,,,,new,,\n" + f"Theirs,plumber,,,,,new,,{rep_a2.email}\n"
    report = _import(org_a, rep_a, text)
    assert not report.committed
    assert [(e.row, e.field) for e in report.errors] == [(3, "assigned_to")]
    _import(org_a, rep_a, HEADER + "Mine,plumber,,,,,new,,\n")
    assert _leads(org_a)[0].assigned_to == rep_a


def test_readonly_users_cannot_import(org_a, readonly_a):
    with pytest.raises(PermissionDenied):
        _import(org_a, readonly_a, HEADER)


def test_export_round_trips_and_guards_formulas(org_a, admin_a, lead_a, lead_b):
    notes = "Quote sent;=SUM(1)\n-2+3"
    make_lead(org_a, company={"name": "=HYPERLINK(evil)", "phone": "+44 1632 960099"}, notes=notes)
    out = io.StringIO()
    with acting_as(org_a, admin_a):
        count = csv_io.export_leads(queryset=Lead.objects.all(), out=out, acting_user=admin_a)
        assert AuditLog.objects.filter(action="data.export", actor=admin_a).exists()
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert count == 2 == len(rows)
    evil = next(r for r in rows if "HYPERLINK" in r["company_name"])
    assert evil["company_name"] == "'=HYPERLINK(evil)" and evil["phone"] == "'+44 1632 960099"
    assert evil["notes"] == "Quote sent;'=SUM(1)\n'-2+3"
    assert "Bravo Roofing" not in out.getvalue()
    with tenant_context(org_a):
        Lead.objects.all().delete()
        Company.objects.all().delete()
    report = _import(org_a, admin_a, out.getvalue())
    assert report.created == 2, report.as_dict()
    names = {lead.company.name: lead.notes for lead in _leads(org_a)}
    assert names.keys() == {"=HYPERLINK(evil)", "Drip Drop Plumbing"}
    assert names["=HYPERLINK(evil)"] == notes


def test_export_respects_the_users_scope(org_a, rep_a, lead_a, lead_a2):
    out = io.StringIO()
    with acting_as(org_a, rep_a):
        csv_io.export_leads(queryset=Lead.objects.all(), out=out, acting_user=rep_a)
    assert "Drip Drop" in out.getvalue() and "Sparky" not in out.getvalue()


def test_choice_values_are_accepted_in_any_case_or_by_their_label(org_a, admin_a):
    text = (
        "company_name,business_type,size,website_status,status,source\n"
        "Drip Drop,Plumber,Sole trader,NO WEBSITE,Qualified,GOOGLE_MAPS\n"
        "Sparky,ELECTRICIAN,SMALL,Modern,contacted,Google Maps\n"
        "Odd,plumber,,,Sleeping,\n"
    )
    report = _import(org_a, admin_a, text, skip_bad_rows=True)
    assert report.created == 2
    assert [(e.row, e.field) for e in report.errors] == [(4, "status")]
    drip, sparky = _leads(org_a)
    assert (drip.company.business_type, drip.company.size) == ("plumber", "solo")
    assert drip.company.online_presence == {"website_status": "none"}
    assert (drip.status, drip.source) == ("qualified", "google_maps")
    assert (sparky.company.business_type, sparky.company.size) == ("electrician", "small")
    assert (sparky.status, sparky.source) == ("contacted", "google_maps")


@pytest.mark.parametrize("model", [Company, Lead])
def test_a_row_s_instances_are_what_the_model_makes(org_a, model):
    """The import copies its instances' defaults from one made at the start
    (csv_io._NewInstances): the same values as `Model(...)`, the callable ones called for
    each (a new dict, the time of the row), the instance a new one."""
    fixed = {"organization_id": org_a.pk}
    new = csv_io._NewInstances(model, **fixed)
    row_id = uuid.uuid4()
    started = timezone.now()
    copied, made = new(id=row_id), model(id=row_id, **fixed)
    timed = {f.attname for f in model._meta.concrete_fields if f.default is timezone.now}

    def values(instance):
        return {k: v for k, v in instance.__dict__.items() if k != "_state" and k not in timed}

    assert values(copied) == values(made)
    assert copied._state.adding and copied._state.db is None
    assert timed and all(copied.__dict__[name] >= started for name in timed)
    other = new(id=uuid.uuid4())
    mutable = [f.attname for f in model._meta.concrete_fields if f.default in (dict, list)]
    assert mutable and all(getattr(other, name) is not getattr(copied, name) for name in mutable)


def test_a_file_with_too_many_columns_is_refused_whole(org_a, admin_a, monkeypatch):
    """The command's import, and any other, refuses it as the admin's upload does."""
    monkeypatch.setattr(csv_io, "MAX_COLUMNS", 9)
    assert _import(org_a, admin_a, HEADER + "A,plumber,,,,,new,,\n").created == 1
    with pytest.raises(csv_io.ImportRefused, match="10 columns; at most 9"):
        _import(org_a, admin_a, HEADER.rstrip("\n") + ",extra\nB,plumber,,,,,new,,,\n")
    assert [lead.company.name for lead in _leads(org_a)] == ["A"]


def test_the_preview_of_a_large_file_keeps_only_the_rows_it_shows():
    """The admin's upload step counts a file's rows: a file near the size limit must not
    take a worker's memory many times over (49 MB took 1.4 GB when every row was kept)."""
    row = ",".join(str(10 + i) for i in range(30)) + "\n"
    data = "company_name," + ",".join(f"c{i}" for i in range(29)) + "\n" + row * 50_000
    data = data.encode()
    tracemalloc.start()
    try:
        shown = csv_io.preview(io.BytesIO(data), rows=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert shown.total == 50_000
    assert shown.rows == [row.rstrip("\n").split(",")] * 2
    assert peak < 8 * len(data), f"{peak / len(data):.1f} times the file's size"


def test_an_import_of_a_large_all_refused_file_keeps_its_memory_bounded(org_a, admin_a, tmp_path):
    """Each refused row is reported, and offered back as CSV, without the import keeping
    them all: 17.6 MB of refused rows took 530 MB of a worker's memory when it did."""
    row = "Refused Company Limited,plumber,,,,Contact Person,not-a-status,,\n"
    data = (HEADER + row * 50_000).encode()
    tracemalloc.start()
    try:
        with (tmp_path / "refused.csv").open("w", newline="") as refused:
            report = _import(org_a, admin_a, data, refused=refused)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (report.rows, report.bad_rows, report.committed) == (50_000, 50_000, False)
    lines = (tmp_path / "refused.csv").read_text().splitlines()
    assert len(lines) == 50_001
    assert lines[0] == "import_row,import_problems," + HEADER.rstrip("\n")
    assert (
        lines[1]
        == lines[-1].replace("50001", "2")
        == (
            "2,error: status: Unknown status 'not-a-status'.,"
            "Refused Company Limited,plumber,,,,Contact Person,not-a-status,,"
        )
    )
    assert peak < 8 * len(data), f"{peak / len(data):.1f} times the file's size"


@pytest.mark.parametrize(
    "text, delimiter",
    [
        (HEADER + 'Drip,plumber,,,,"Sam, Jr",new,hot; wet,\nSparky,,,,,,,hot;new;old,\n', ","),
        # A spreadsheet of a locale whose decimal mark is a comma.
        ("company_name;phone;google_rating\nDrip;01632 960001;4,5\nSparky;;3,9\n", ";"),
        ('"Name, in full";phone\n"Drip, Drop";01632 960001\n', ";"),
        ("company_name\tphone\tnotes\nDrip\t01632 960001\tCall; after 5, not before\n", "\t"),
        # One column: no delimiter to find, the comma as for any file.
        ("company_name\nDrip; Drop\nSparky, Ltd\n", ","),
        # The first row alone: the delimiter that cuts it into most columns.
        ("company_name;phone,email;city\n", ";"),
        # An export: `'` begins a guarded cell (and may end one), it quotes nothing.
        ("company_name,phone,notes\nDrip,'+44 1632 960001,For the Jones'\nSparky,'-1,x\n", ","),
    ],
)
def test_the_delimiter_is_found_from_the_file(text, delimiter):
    assert csv_io.delimiter_of(text) == delimiter
    # The start of a longer file: the row cut short does not count.
    assert csv_io.delimiter_of(text + '"Cut, short;\tx', whole=False) == delimiter


@pytest.mark.parametrize(
    "unit",
    [',"', 'a,"', "\n'a", ",'", '"' + ";" * 50 + '\t"', "a;b,c\t" * 3 + "\n"],
)
def test_the_delimiter_of_a_hostile_megabyte_is_found_in_one_reading(unit):
    """`csv.Sniffer` backtracked over text like this (0.6 s on 8 KB of it, four times the
    time for twice the text, so weeks for a megabyte); the delimiter is found by reading
    the text once for each delimiter, whatever it holds."""
    text = unit * (2**20 // len(unit))
    assert csv_io.delimiter_of(text) in csv_io.DELIMITERS


def test_a_file_saved_with_semicolons_imports(org_a, admin_a):
    text = (
        "company_name;phone;city;notes;tags\n"
        'Drip Drop;01632 960001;Leeds, West Yorkshire;"Call; after 5, not before";hot\n'
    )
    report = _import(org_a, admin_a, text)
    assert report.created == 1, report.as_dict()
    (lead,) = _leads(org_a)
    assert (lead.company.city, lead.notes) == ("Leeds, West Yorkshire", "Call; after 5, not before")
    assert lead.company.phone_normalized == "+441632960001"


def test_an_export_whose_cells_begin_and_end_with_apostrophes_imports_back(org_a, admin_a):
    """An apostrophe is not a quote: an exported `'+44…` followed later by a cell ending
    in `'` and a comma made the import read everything between as one cell."""
    text = (
        "company_name,phone,notes\n"
        "Drip,'+44 1632 960001,Quote for the Jones'\n"
        "Sparky,'+44 1632 960002,Quote for O'Neil\n"
    )
    report = _import(org_a, admin_a, text)
    assert report.created == 2, report.as_dict()
    assert [(lead.company.phone, lead.notes) for lead in _leads(org_a)] == [
        ("+44 1632 960001", "Quote for the Jones'"),
        ("+44 1632 960002", "Quote for O'Neil"),
    ]
