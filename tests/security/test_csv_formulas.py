"""Every CSV the product writes leaves spreadsheet formulas inert (OWASP's rule: a cell
starting with =, +, -, @, a tab or a carriage return gets a leading quote)."""

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from tests import factories
from tests.leads.factories import InteractionFactory, make_lead

HOSTILE = ['=HYPERLINK("http://evil.test","x")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+2"]


@pytest.mark.django_db
def test_the_subject_exports_csv_files_keep_formulas_inert(org_a, admin_a):
    lead = make_lead(org_a, company={"name": HOSTILE[0]}, contact_name=HOSTILE[1])
    InteractionFactory(organization=org_a, lead=lead, content=HOSTILE[2])
    client = factories.api_client(admin_a, org_a)
    response = client.get(f"/api/v1/leads/{lead.pk}/export/", {"format": "csv"})
    assert response.status_code == 200, response.content
    cells = []
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        for name in bundle.namelist():
            if name.endswith(".csv"):
                text = bundle.read(name).decode()
                cells += [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    for value in HOSTILE:
        assert "'" + value in cells
        assert value not in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]


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
