"""The admin's lead import wizard: upload a CSV, map each column to a field (with the
allowed values of choice fields and a preview of the first rows), then import.

The import itself is `csv_io.import_leads`, as for the API and the command. The file
is kept on the server between the steps (and after a failed import, to try again with
another mapping) under a random token, in a file named after the organization and
the user: another user's token opens nothing (404). Files are removed after a
committed import, and any left behind after `KEEP_FOR`.

An upload is imported once: its import runs under a lock on the upload, taken before
the file is looked at and held until the request's transaction ends, so that the same
file submitted again at once (a double click, a browser's retry) waits for the first
import, then finds it done and shows its report. A submission that waits longer than
the lock timeout is told the file is being imported.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from leads import csv_io
from smartweb import access
from smartweb.locks import advisory_xact_lock_within_timeout
from smartweb.rbac import Action, Resource
from smartweb.tenancy.context import current_organization_id

UPLOAD_DIR = Path(
    getattr(settings, "LEADS_IMPORT_DIR", Path(tempfile.gettempdir()) / "smartweb-lead-imports")
)
KEEP_FOR = 24 * 3600  # seconds
PREVIEW_ROWS = 5
# The errors and the duplicates the report's page lists (of each).
ISSUES_SHOWN = 500
# How often the import writes its progress for the page to poll (rows checked).
PROGRESS_EVERY = 500
IGNORE = ""
# The advisory lock one upload is imported under (with its owner and token).
UPLOAD_LOCK = "lead-import-upload"


@dataclass
class StoredUpload:
    """One uploaded file of one user of one organization, between the wizard's steps."""

    owner: str
    token: str

    @classmethod
    def _owner(cls, request) -> str:
        return f"{current_organization_id()}-{request.user.pk}"

    @classmethod
    def create(cls, request, uploaded) -> StoredUpload:
        _remove_stale()
        UPLOAD_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        upload = cls(cls._owner(request), secrets.token_hex(16))
        with upload.path("csv").open("wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
        upload.write("meta", {"name": uploaded.name})
        return upload

    @classmethod
    def of(cls, request, token: str) -> StoredUpload:
        """The user's own upload with this token; 404 for anyone else's or a stale one."""
        upload = cls(cls._owner(request), token)
        if not upload.path("meta").exists():
            raise Http404("No such import: upload the file again.")
        return upload

    def path(self, kind: str) -> Path:
        return UPLOAD_DIR / f"{self.owner}-{self.token}.{kind}"

    def read(self, kind: str, default=None):
        try:
            return json.loads(self.path(kind).read_text())
        except (FileNotFoundError, ValueError):
            return default

    def write(self, kind: str, data) -> None:
        with self.writing(kind) as out:
            json.dump(data, out)

    @contextmanager
    def writing(self, kind: str) -> Iterator[IO[str]]:
        """A text file to write `kind` into, in place once the block ends without error.
        Written under a name of its own then renamed, so that a polling reader never sees
        half a file, a failed writer leaves none, and two writers at once never share (or
        rename) one file."""
        partial = self.path(f"{kind}.{secrets.token_hex(8)}.partial")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                yield out
            os.replace(partial, self.path(kind))
        finally:
            partial.unlink(missing_ok=True)

    def lock(self) -> bool:
        """Hold this upload until the transaction ends, waiting for any other request
        importing it, up to the lock timeout (False when the wait ran out)."""
        return advisory_xact_lock_within_timeout(UPLOAD_LOCK, self.owner, self.token)

    @property
    def has_file(self) -> bool:
        return self.path("csv").exists()

    def remove_file(self) -> None:
        self.path("csv").unlink(missing_ok=True)


def _remove_stale() -> None:
    if not UPLOAD_DIR.exists():
        return
    limit = time.time() - KEEP_FOR
    for stale in UPLOAD_DIR.iterdir():
        try:
            if stale.stat().st_mtime < limit:
                stale.unlink()
        except FileNotFoundError:
            pass


def _require_importer(request) -> None:
    if not (
        access.can(request.user, Action.CREATE, Resource.LEADS)
        and access.can(request.user, Action.CREATE, Resource.COMPANIES)
    ):
        raise PermissionDenied


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text=f"CSV, UTF-8, at most {csv_io.MAX_BYTES // 2**20} MB"
        f" and {csv_io.MAX_COLUMNS} columns."
    )


def _target_choices() -> list[tuple[str, str]]:
    return [(IGNORE, "— not imported —"), *((c, c.replace("_", " ")) for c in csv_io.COLUMNS)]


class MappingForm(forms.Form):
    """One dropdown per column of the file (`column_0`, `column_1`…)."""

    skip_bad_rows = forms.BooleanField(
        required=False, help_text="Import the good rows and report the bad ones."
    )

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        for index, (name, target) in enumerate(
            zip(header, csv_io.suggested_targets(header), strict=True)
        ):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=name or f"(column {index + 1})",
                choices=_target_choices(),
                initial=target,
                required=False,
            )

    def clean(self):
        cleaned = super().clean()
        targets = [cleaned.get(f"column_{i}", IGNORE) for i in range(len(self.header))]
        chosen = [t for t in targets if t != IGNORE]
        twice = sorted({t for t in chosen if chosen.count(t) > 1})
        if twice:
            raise ValidationError(f"Each field takes one column: {', '.join(twice)} has more.")
        if "company_name" not in chosen:
            raise ValidationError("Pick the column that holds the company name.")
        cleaned["mapping"] = dict(zip(self.header, targets, strict=True))
        return cleaned

    def columns(self):
        return [self[f"column_{index}"] for index in range(len(self.header))]


def allowed_values() -> dict[str, str]:
    """Field -> its allowed values, as the mapping step lists them."""
    return {
        column: ", ".join(
            f"{value} ({label})" if label.lower() != value else value
            for value, label in choices.choices
        )
        for column, choices in csv_io.CHOICES.items()
    }


class ImportWizard:
    """The wizard's views for `LeadAdmin` (its admin site, options and breadcrumbs)."""

    def __init__(self, model_admin):
        self.model_admin = model_admin

    def urls(self) -> list:
        wrap = self.model_admin.admin_site.admin_view
        return [
            path("import/", wrap(self.upload_view), name="leads_lead_import"),
            path("import/<slug:token>/", wrap(self.map_view), name="leads_lead_import_map"),
            path(
                "import/<slug:token>/errors.csv",
                wrap(self.errors_view),
                name="leads_lead_import_errors",
            ),
            path(
                "import/<slug:token>/progress/",
                wrap(self.progress_view),
                name="leads_lead_import_progress",
            ),
        ]

    def _render(self, request, template: str, title: str, **context):
        site = self.model_admin.admin_site
        context = {
            **site.each_context(request),
            "title": title,
            "opts": self.model_admin.model._meta,
            "changelist_url": reverse("admin:leads_lead_changelist"),
            "import_url": reverse("admin:leads_lead_import"),
            **context,
        }
        return TemplateResponse(request, template, context)

    def upload_view(self, request):
        _require_importer(request)
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            uploaded = form.cleaned_data["file"]
            try:
                # A file the import would refuse whole is refused here, not kept.
                csv_io.preview(uploaded, rows=0)
            except csv_io.ImportRefused as exc:
                form.add_error("file", str(exc))
            else:
                uploaded.seek(0)
                upload = StoredUpload.create(request, uploaded)
                return redirect("admin:leads_lead_import_map", token=upload.token)
        return self._render(
            request,
            "admin/leads/lead/import.html",
            "Import leads from CSV: 1. upload",
            form=form,
        )

    def map_view(self, request, token: str):
        _require_importer(request)
        upload = StoredUpload.of(request, token)
        if request.method == "POST" and not upload.lock():
            self.model_admin.message_user(
                request,
                "This file is being imported already: reload this page for its report"
                " when the import ends.",
                level=messages.WARNING,
            )
            return redirect("admin:leads_lead_import_map", token=token)
        if not upload.has_file:
            # Imported already: what remains is the report.
            if request.method == "POST":
                self.model_admin.message_user(
                    request,
                    "This file was imported already, once: here is its report.",
                    level=messages.WARNING,
                )
                return redirect("admin:leads_lead_import_map", token=token)
            return self._result(request, upload, token)
        try:
            with upload.path("csv").open("rb") as source:
                sample = csv_io.preview(source, rows=PREVIEW_ROWS)
        except csv_io.ImportRefused as exc:  # a file kept from before a lower limit
            self.model_admin.message_user(request, str(exc), level="ERROR")
            return redirect("admin:leads_lead_import")
        form = MappingForm(request.POST or None, header=sample.header)
        report = None
        if request.method == "POST" and form.is_valid():
            report = self._import(request, upload, form, sample.total)
            if report is not None and report.committed:
                upload.remove_file()
                return redirect("admin:leads_lead_import_map", token=token)
        return self._render(
            request,
            "admin/leads/lead/import_map.html",
            "Import leads from CSV: 2. columns",
            form=form,
            sample=sample,
            name=upload.read("meta", {}).get("name", ""),
            allowed=allowed_values(),
            report=report and report.as_dict(issues=ISSUES_SHOWN),
            token=token,
        )

    def _import(self, request, upload: StoredUpload, form: MappingForm, total: int):
        progress = _Progress(upload, total)
        try:
            with upload.path("csv").open("rb") as source, upload.writing("refused") as refused:
                report = csv_io.import_leads(
                    source=source,
                    acting_user=request.user,
                    mapping=form.cleaned_data["mapping"],
                    skip_bad_rows=form.cleaned_data["skip_bad_rows"],
                    progress=progress,
                    refused=refused,
                )
        except csv_io.ImportRefused as exc:
            form.add_error(None, str(exc))
            return None
        progress.save(done=True)
        # The issues the page lists, and their counts: every refused row is in the
        # download, written as the import ran.
        upload.write(
            "report",
            {**report.as_dict(issues=ISSUES_SHOWN), "at": timezone.now().isoformat()},
        )
        if report.committed:
            self.model_admin.message_user(request, f"Imported {report.created} lead(s).")
        else:
            self.model_admin.message_user(
                request,
                f"Nothing imported: {report.bad_rows} row(s) have errors. The file is kept:"
                " fix the mapping, or import the good rows only.",
                level="ERROR",
            )
        return report

    def _result(self, request, upload: StoredUpload, token: str):
        return self._render(
            request,
            "admin/leads/lead/import_done.html",
            "Import leads from CSV: 3. done",
            report=upload.read("report", {}),
            name=upload.read("meta", {}).get("name", ""),
            token=token,
        )

    def errors_view(self, request, token: str):
        _require_importer(request)
        upload = StoredUpload.of(request, token)
        try:
            refused = upload.path("refused").open("rb")
        except FileNotFoundError:
            raise Http404("This file has not been imported yet.") from None
        return FileResponse(
            refused,
            as_attachment=True,
            filename="import-refused-rows.csv",
            content_type="text/csv; charset=utf-8",
        )

    def progress_view(self, request, token: str):
        _require_importer(request)
        upload = StoredUpload.of(request, token)
        return JsonResponse(upload.read("progress", {"checked": 0, "written": 0, "total": 0}))


class _Progress:
    """The import's progress callback: counts, written for the page to poll."""

    def __init__(self, upload: StoredUpload, total: int):
        self.upload = upload
        self.counts = {"checked": 0, "written": 0, "total": total, "done": False}
        self.save()

    def __call__(self, stage: str, count: int) -> None:
        self.counts[stage] = self.counts.get(stage, 0) + count
        if stage == "written" or self.counts["checked"] % PROGRESS_EVERY == 0:
            self.save()

    def save(self, *, done: bool = False) -> None:
        self.counts["done"] = done
        self.upload.write("progress", self.counts)
