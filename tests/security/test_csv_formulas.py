"""Every CSV the product writes leaves spreadsheet formulas inert (OWASP's rule: a cell
starting with =, +, -, @, a tab or a carriage return gets a leading quote), read with
commas as its list separator or with semicolons (Excel in a German or French locale)."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from leads import csv_io
from leads.models import Lead
from smartweb import csv_output
from tests import factories
from tests.leads.factories import InteractionFactory, acting_as, make_lead

HOSTILE = ['=HYPERLINK("http://evil.test","x")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+2"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Cells a spreadsheet splitting at `;` (and at every line break) would cut into formulas.
SPLIT = {
    'x;=HYPERLINK("http://evil.test","x")': 'x;\'=HYPERLINK("http://evil.test","x")',
    "a;+cmd|' /C calc'!A0": "a;'+cmd|' /C calc'!A0",
    'b;"@SUM(1+1)': "b;'\"@SUM(1+1)",
    "Called.\n=1+1\r\n-2+3;\t=1": "Called.\n'=1+1\r\n'-2+3;'\t=1",
    "=1;=2": "'=1;'=2",
}


def _cells(text: str, delimiter: str) -> list[str]:
    return [
        cell
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for cell in row
    ]


@pytest.mark.django_db
def test_the_subject_exports_csv_files_keep_formulas_inert(org_a, admin_a):
    lead = make_lead(org_a, company={"name": HOSTILE[0]}, contact_name=HOSTILE[1])
    InteractionFactory(organization=org_a, lead=lead, content=HOSTILE[2])
    InteractionFactory(organization=org_a, lead=lead, content=list(SPLIT)[3])
    client = factories.api_client(admin_a, org_a)
    response = client.get(f"/api/v1/leads/{lead.pk}/export/", {"format": "csv"})
    assert response.status_code == 200, response.content
    cells = {",": [], ";": []}
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        for name in bundle.namelist():
            if name.endswith(".csv"):
                text = bundle.read(name).decode()
                for delimiter, read in cells.items():
                    read += _cells(text, delimiter)
    for value in HOSTILE:
        assert "'" + value in cells[","]
        assert value not in cells[","]
    for read in cells.values():
        assert not [c for c in read if c.startswith(FORMULA_STARTS)]


def test_no_csv_is_written_but_by_the_one_writer():
    """A new export written with the csv module directly would skip the formula guard."""
    writers = re.compile(r"csv\.(writer|DictWriter)\(")
    offenders = [
        str(path.relative_to(settings.BASE_DIR))
        for app in ("smartweb", "accounts", "leads", "crm", "compliance")
        for path in (settings.BASE_DIR / app).rglob("*.py")
        if writers.search(path.read_text())
        and path != Path(settings.BASE_DIR, "smartweb/csv_output.py")
    ]
    assert offenders == []


def test_the_writer_leaves_no_formula_to_a_comma_or_a_semicolon_reader():
    out = io.StringIO(newline="")
    writer = csv_output.writer(out)
    writer.writerow(["first", *SPLIT])
    writer.writerow([*SPLIT, "last"])
    writer.writerow(["hot; wet", "Sam, Jr", "plain"])
    text = out.getvalue()
    for delimiter in ",;":
        cells = _cells(text, delimiter)
        assert cells and not [c for c in cells if c.startswith(FORMULA_STARTS)], delimiter
    # Read with commas, as written: each cell guarded where a semicolon reader cuts it,
    # nothing else changed, and the import reads the value back.
    assert _cells(text, ",") == [
        "first",
        *SPLIT.values(),
        *SPLIT.values(),
        "last",
        "hot; wet",
        "Sam, Jr",
        "plain",
    ]
    assert [csv_output.unescape(cell) for cell in SPLIT.values()] == list(SPLIT)


@pytest.mark.django_db
def test_a_lead_export_opened_with_semicolons_as_separator_runs_no_formula(org_a, admin_a):
    name, contact, notes = list(SPLIT)[:3]
    make_lead(org_a, company={"name": name}, contact_name=contact, notes=notes)
    out = io.StringIO(newline="")
    with acting_as(org_a, admin_a):
        csv_io.export_leads(queryset=Lead.objects.all(), out=out, acting_user=admin_a)
    for delimiter in ",;":
        cells = _cells(out.getvalue(), delimiter)
        assert not [c for c in cells if c.startswith(FORMULA_STARTS)], delimiter
    (row,) = csv.DictReader(io.StringIO(out.getvalue(), newline=""))
    assert (row["company_name"], row["contact_name"], row["notes"]) == (
        SPLIT[name],
        SPLIT[contact],
        SPLIT[notes],
    )
