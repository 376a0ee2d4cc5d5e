"""The data subject export: one JSON document, or the same as a zip of CSV files.

    {"format": "smartweb.subject-export/1", "generated_at": …, "organization": {…},
     "subject": {"lead_id": …, "lead_ids": […]}, "consent": {purpose: {…}},
     "sections": {"leads.lead": {"fields": […], "records": […], "history": […]}, …}}

Every section lists the model's stored columns (search vectors, derived from the others,
are left out), its current rows (soft-deleted ones included: they are still held) and
its history rows. The CSV bundle has `manifest.json` and, per section, `<label>.csv`
and `<label>.history.csv`.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from compliance.consent import current_consents
from compliance.subject import Subject, history_model, stored_fields
from smartweb import csv_output

FORMAT = "smartweb.subject-export/1"


def _plain(value: Any) -> Any:
    """JSON types only: ids, dates and Decimals (as strings, never floats) included."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def build_document(subject: Subject, *, organization) -> dict:
    sections = {}
    for part in subject:
        fields = stored_fields(part.model)
        historical = history_model(part.model)
        history_fields = stored_fields(historical) if historical else []
        sections[part.label] = {
            "fields": fields,
            "records": list(part.rows().values(*fields)),
            "history_fields": history_fields,
            "history": list(part.history().values(*history_fields)) if historical else [],
        }
    return _plain(
        {
            "format": FORMAT,
            "generated_at": timezone.now(),
            "organization": {"id": organization.pk, "name": organization.name},
            "subject": {"lead_id": subject.lead.pk, "lead_ids": sorted(map(str, subject.lead_ids))},
            "consent": current_consents(subject.lead_ids),
            "sections": sections,
        }
    )


def counts(document: dict) -> dict[str, dict[str, int]]:
    """Rows per section: what the audit log and the request record keep of an export."""
    return {
        label: {"records": len(section["records"]), "history": len(section["history"])}
        for label, section in document["sections"].items()
    }


def to_json(document: dict) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _csv(fields: list[str], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv_output.writer(buffer)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in fields])
    return buffer.getvalue()


def to_zip(document: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        manifest = {k: v for k, v in document.items() if k != "sections"}
        manifest["files"] = {}
        for label, section in document["sections"].items():
            bundle.writestr(f"{label}.csv", _csv(section["fields"], section["records"]))
            manifest["files"][f"{label}.csv"] = len(section["records"])
            if section["history_fields"]:
                bundle.writestr(
                    f"{label}.history.csv", _csv(section["history_fields"], section["history"])
                )
                manifest["files"][f"{label}.history.csv"] = len(section["history"])
        bundle.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return buffer.getvalue()


RENDERERS = {
    "json": (to_json, "application/json", "json"),
    "csv": (to_zip, "application/zip", "zip"),
}
