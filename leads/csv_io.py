"""CSV import and export of leads with their companies.

Import: the file is read whole (up to `LEADS_IMPORT_MAX_BYTES`, `LEADS_IMPORT_MAX_ROWS`
rows and `LEADS_IMPORT_MAX_COLUMNS` columns), every row is checked with the same
normalizers and model validation as the services, duplicates (within the organization
and within the file) are reported and never written, and then either nothing is written
(any error, the default) or the good rows are (`skip_bad_rows`).
Rows are written with `bulk_create` in batches, history rows included, in one
transaction.

Export: the leads the user may see, one row each, in the import's columns (a file
exported here imports back), and an audit event.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
import itertools
import operator
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import JSONField
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.audit import AuditAction, record_audit_event
from accounts.models import User
from compliance.consent import exclude_do_not_sell
from compliance.suppression import SUPPRESSED_MESSAGE, SuppressionList
from leads import duplicate_notice, scoring, selectors, services
from leads.choices import BusinessType, CompanySize, LeadSource, LeadStatus, WebsiteStatus
from leads.models import Company, Lead, LeadTag, Tag
from smartweb import access, csv_output
from smartweb.history import origin_attrs
from smartweb.locks import advisory_xact_lock
from smartweb.rbac import Action, Resource, Scope
from smartweb.replica import reporting_reads
from smartweb.tenancy.context import current_organization_id

MAX_BYTES = getattr(django_settings, "LEADS_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
MAX_ROWS = getattr(django_settings, "LEADS_IMPORT_MAX_ROWS", 200_000)
# The admin's mapping step shows a dropdown per column (a few ms and ~1.5 KB of HTML
# each) and posts them all back in one form, which Django refuses over
# DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000 by default) with its own fields counted. 200 keeps
# that page quick and the post well under the limit, and leaves room for any export
# (the import knows 27 columns; the rest are ignored).
MAX_COLUMNS = getattr(django_settings, "LEADS_IMPORT_MAX_COLUMNS", 200)
BATCH_SIZE = 10_000

# Canonical columns -> (target, attribute). Targets: company, presence (the company's
# online presence), lead, or special handling (status, assignee, tags).
COLUMNS: dict[str, tuple[str, str]] = {
    "company_name": ("company", "name"),
    "business_type": ("company", "business_type"),
    "size": ("company", "size"),
    "phone": ("company", "phone"),
    "email": ("company", "email"),
    "website": ("company", "website"),
    "address_line1": ("company", "address_line1"),
    "address_line2": ("company", "address_line2"),
    "city": ("company", "city"),
    "region": ("company", "region"),
    "postal_code": ("company", "postal_code"),
    "country": ("company", "country"),
    "website_status": ("presence", "website_status"),
    "google_rating": ("presence", "google_rating"),
    "google_review_count": ("presence", "google_review_count"),
    "contact_name": ("lead", "contact_name"),
    "contact_title": ("lead", "contact_title"),
    "contact_email": ("lead", "contact_email"),
    "contact_phone": ("lead", "contact_phone"),
    "source": ("lead", "source"),
    "consent_to_contact": ("lead", "consent_to_contact"),
    "do_not_contact": ("lead", "do_not_contact"),
    "next_follow_up_at": ("lead", "next_follow_up_at"),
    "notes": ("lead", "notes"),
    "status": ("status", "status"),
    "assigned_to": ("assignee", "email"),
    "tags": ("tags", "names"),
}
# Export-only columns, ignored on import so that an export imports back.
EXPORT_ONLY = ("id", "lead_score", "created_at")
EXPORT_COLUMNS = ["id", *COLUMNS, "lead_score", "created_at"]
ALIASES = {
    "company": "company_name",
    "business": "company_name",
    "business_name": "company_name",
    "name": "company_name",
    "trade": "business_type",
    "type": "business_type",
    "telephone": "phone",
    "company_phone": "phone",
    "company_email": "email",
    "url": "website",
    "web": "website",
    "address": "address_line1",
    "town": "city",
    "county": "region",
    "state": "region",
    "postcode": "postal_code",
    "zip": "postal_code",
    "contact": "contact_name",
    "contact_person": "contact_name",
    "owner": "assigned_to",
    "assignee": "assigned_to",
    "rating": "google_rating",
    "reviews": "google_review_count",
}
# Model field -> column, to name the column in errors from model validation.
_COLUMN_OF = {(target, attr): column for column, (target, attr) in COLUMNS.items()}
STATUSES = frozenset(LeadStatus.values)
TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"", "0", "false", "no", "n", "f"}
TAG_SEPARATOR = ";"
# The delimiters a file may use: a comma, the semicolon of the spreadsheets of locales
# whose decimal mark is a comma, a tab. Found from the file's first `SAMPLE_CHARS`.
DELIMITERS = (",", ";", "\t")
SAMPLE_CHARS = 8192


class ImportRefused(Exception):
    """The whole file is unusable (too large, not CSV, no company name column…)."""


@dataclass(slots=True)
class RowIssue:
    row: int
    field: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "reason": self.reason}


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    duplicates: list[RowIssue] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    committed: bool = False

    @property
    def bad_rows(self) -> int:
        return len({issue.row for issue in self.errors})

    @property
    def duplicate_count(self) -> int:
        return len(self.duplicates)

    def as_dict(self, *, issues: int | None = None) -> dict:
        """The report, with the first `issues` errors and duplicates (all by default)."""
        return {
            "rows": self.rows,
            "created": self.created,
            "committed": self.committed,
            "bad_rows": self.bad_rows,
            "duplicate_count": self.duplicate_count,
            "errors": [e.as_dict() for e in self.errors[:issues]],
            "duplicates": [d.as_dict() for d in self.duplicates[:issues]],
            "ignored_columns": self.ignored_columns,
        }


@dataclass
class _Row:
    number: int
    company: Company
    lead: Lead
    tags: list[str]


def _header_key(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """`["Business=company_name", …]` -> {"business": "company_name"}; raises ValueError."""
    mapping = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip() or target.strip() not in COLUMNS:
            raise ValueError(
                f"Bad mapping '{pair}': use CSVCOLUMN=FIELD, FIELD one of {', '.join(COLUMNS)}."
            )
        mapping[_header_key(column)] = target.strip()
    return mapping


def _read_text(source: IO) -> str:
    data = source.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportRefused(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportRefused("The file is not UTF-8 text: save it as 'CSV UTF-8'.") from exc
    if "\x00" in data:
        raise ImportRefused("The file is binary, not CSV text.")
    if not data.strip():
        raise ImportRefused("The file is empty.")
    return data


def _header(reader) -> list[str]:
    """The file's header row, refused when missing or wider than `MAX_COLUMNS`."""
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ImportRefused("The file has no header row.") from exc
    if len(header) > MAX_COLUMNS:
        raise ImportRefused(
            f"The file has {len(header)} columns; at most {MAX_COLUMNS} can be imported:"
            " remove the columns you do not need."
        )
    return header


def delimiter_of(sample: str, *, whole: bool = True) -> str:
    """The delimiter of the CSV text `sample` (or its start, when not `whole`: its last
    row may be cut short and does not count). Of `DELIMITERS`, the one that cuts the
    first row into two cells or more and the most of the next rows into as many cells;
    a tie goes to the one that cuts the first row into more, then to the first in
    `DELIMITERS`; a comma when none cuts the first row. Quotes are a spreadsheet's (`"`,
    doubled inside a quoted cell).

    Each delimiter reads the sample once with the csv module's reader, keeping only the
    rows' lengths: linear in the sample whatever it holds. `csv.Sniffer`, used before,
    tried regular expressions that backtrack over the sample (0.6 s on 8 KB made for
    it, for each of the three or four times an import read a file), and could take `'`
    for the quote character (an export's `'+44…` then a cell ending in `'` and a
    comma) and read the file wrong."""
    best, best_score = ",", (-1, 0)
    for delimiter in DELIMITERS:
        lengths, complete = [], whole
        try:
            for record in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
                if record:
                    lengths.append(len(record))
        except csv.Error:  # a cell past the csv module's size limit: read no further
            complete = False
        if not complete:
            lengths = lengths[:-1]
        if not lengths or lengths[0] < 2:
            continue
        score = (lengths[1:].count(lengths[0]), lengths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _reader(text: str):
    """A csv reader of the file `text`, with the delimiter found from its start."""
    start = text[:SAMPLE_CHARS]
    delimiter = delimiter_of(start, whole=len(start) == len(text))
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _resolve_columns(header: list[str], mapping: Mapping[str, str]) -> tuple[list, list[str]]:
    columns, ignored, seen = [], [], set()
    for name in header:
        key = _header_key(name)
        # A column mapped to "" is ignored, even when its name is a known one.
        target = mapping[key] if key in mapping else (key if key in COLUMNS else ALIASES.get(key))
        if not target or target in seen:
            columns.append(None)
            if key not in EXPORT_ONLY:
                ignored.append(name)
            continue
        seen.add(target)
        columns.append((name, target))
    if "company_name" not in seen:
        raise ImportRefused(
            "No company name column: name one 'company_name' or map it (CSVCOLUMN=company_name)."
        )
    return columns, ignored


def suggested_targets(header: Sequence[str]) -> list[str]:
    """The field each column imports into when not mapped ("" for none), as the
    import itself resolves them."""
    targets, seen = [], set()
    for name in header:
        key = _header_key(name)
        target = key if key in COLUMNS else ALIASES.get(key, "")
        targets.append("" if target in seen else target)
        seen.add(target)
    return targets


@dataclass
class Preview:
    header: list[str]
    rows: list[list[str]]
    total: int


def preview(source: IO, *, rows: int = 5) -> Preview:
    """The header, the first `rows` non-blank rows and the number of rows of a file.
    Raises `ImportRefused` for a file the import would refuse as a whole. The rows are
    counted as they are read, not kept: a file's parsed cells take some 30 times its size."""
    text = _read_text(source)
    reader = _reader(text)
    first: list[list[str]] = []
    total = 0
    try:
        header = _header(reader)
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            total += 1
            if total <= rows:
                first.append([csv_output.unescape(cell) for cell in record])
    except csv.Error as exc:
        raise ImportRefused(f"Malformed CSV: {exc}.") from exc
    return Preview(header, first, total)


def _parse_bool(value: str) -> bool:
    key = value.strip().lower()
    if key in TRUE:
        return True
    if key in FALSE:
        return False
    raise ValidationError("Use yes or no.")


def _parse_datetime(value: str) -> dt.datetime | None:
    if not value.strip():
        return None
    parsed = parse_datetime(value.strip())
    if parsed is None:
        raise ValidationError("Use an ISO 8601 date and time, e.g. 2026-03-01T09:30:00Z.")
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=dt.UTC)


def _choice_parser(choices) -> Callable[[str], str]:
    """A cell of a choice column to its stored value, whatever its case and whether it
    names the value or the label ("Qualified", "GOOGLE_MAPS", "Google Maps"); anything
    else is kept as written, for validation to name it."""
    known = {}
    for value, label in choices.choices:
        for text in (value, str(label), str(label).replace(" ", "_")):
            known.setdefault(text.lower(), value)
    return lambda cell: known.get(cell.strip().lower(), cell.strip())


# Columns with a fixed set of values, shown with their allowed values by the admin.
CHOICES = {
    "business_type": BusinessType,
    "size": CompanySize,
    "website_status": WebsiteStatus,
    "source": LeadSource,
    "status": LeadStatus,
}


def _parse_number(value: str, kind: type) -> Any:
    if not value.strip():
        return None
    try:
        return kind(value.strip())
    except ValueError as exc:
        raise ValidationError("Not a number." if kind is float else "Not a whole number.") from exc


_PARSERS: dict[str, Callable[[str], Any]] = {
    "consent_to_contact": _parse_bool,
    "do_not_contact": _parse_bool,
    "next_follow_up_at": _parse_datetime,
    "google_rating": lambda v: _parse_number(v, float),
    "google_review_count": lambda v: _parse_number(v, int),
    **{column: _choice_parser(choices) for column, choices in CHOICES.items()},
}


class _NewInstances:
    """New instances of `model`, as `model(**fixed, **values)` makes them, for every row of
    a file: `Model.__init__` looks every field's default up again (about a third of the
    time a row takes to check); here they are copied from one instance made at the start,
    and the callable ones (a new dict, the current time) are called again for each, as
    `__init__` calls them."""

    def __init__(self, model, **fixed):
        self.model = model
        self.defaults = {k: v for k, v in model(**fixed).__dict__.items() if k != "_state"}
        self.callables = [
            (field.attname, field.default)
            for field in model._meta.concrete_fields
            if field.has_default() and callable(field.default) and field.attname not in fixed
        ]

    def __call__(self, **values):
        instance = self.model.__new__(self.model)
        instance.__dict__.update(self.defaults, _state=ModelState())
        for attname, default in self.callables:
            if attname not in values:
                instance.__dict__[attname] = default()
        for name, value in values.items():
            setattr(instance, name, value)
        return instance


class _Importer:
    def __init__(self, *, acting_user: User | None):
        self.acting_user = acting_user
        self.organization_id = current_organization_id()
        self.settings = services.organization_settings(self.organization_id)
        self.weights = scoring.weights_for(self.settings)
        self.members = {u.email.lower(): u for u in selectors.organization_members()}
        self.new_company = _NewInstances(Company, organization_id=self.organization_id)
        self.new_lead = _NewInstances(Lead, organization_id=self.organization_id)
        self.assignees: dict[str, tuple[User | None, str | None]] = {}
        self.report = ImportReport()
        self.known_keys: dict[tuple[str, str], int | uuid.UUID] = {}
        self.columns: list = []
        self.headers: dict[str, str] = {}

    def _existing_keys(self) -> dict[tuple[str, str], uuid.UUID]:
        """(kind, key) -> the id of a lead of the organization that has it."""
        keys = {}
        paths = [path for paths in selectors.DUPLICATE_KEYS.values() for path in paths]
        for lead_id, *values in Lead.objects.order_by().values_list("id", *paths):
            by_path = dict(zip(paths, values, strict=True))
            for kind, kind_paths in selectors.DUPLICATE_KEYS.items():
                for path in kind_paths:
                    if by_path[path]:
                        keys.setdefault((kind, by_path[path]), lead_id)
        return keys

    def error(self, row: int, column: str, reason: str) -> None:
        # Interned: a file's refused rows mostly share a few reasons.
        self.report.errors.append(RowIssue(row, column, sys.intern(reason)))

    def _column(self, target: str, attr: str) -> str:
        canonical = _COLUMN_OF.get((target, attr), attr)
        return self.headers.get(canonical, canonical)

    def parse(self, text: str, mapping: Mapping[str, str], progress) -> list[_Row]:
        reader = _reader(text)
        try:
            header = _header(reader)
        except csv.Error as exc:
            raise ImportRefused("The file has no header row.") from exc
        self.columns, self.report.ignored_columns = _resolve_columns(header, mapping)
        self.headers = {c[1]: c[0] for c in self.columns if c}
        rows = []
        number = 1
        try:
            for record in reader:
                number += 1
                if not any(cell.strip() for cell in record):
                    continue
                self.report.rows += 1
                if self.report.rows > MAX_ROWS:
                    raise ImportRefused(f"The file has more than {MAX_ROWS} rows.")
                row = self._parse_row(number, header, record)
                if row is not None:
                    rows.append(row)
                if progress:
                    progress("checked", 1)
        except csv.Error as exc:
            raise ImportRefused(f"Malformed CSV near row {number + 1}: {exc}.") from exc
        return rows

    def _parse_row(self, number: int, header: list[str], record: list[str]) -> _Row | None:
        if len(record) != len(header):
            self.error(number, "", f"Expected {len(header)} fields, found {len(record)}.")
            return None
        values: dict[str, Any] = {}
        failed = False
        for column, cell in zip(self.columns, record, strict=True):
            if column is None:
                continue
            name, target = column
            cell = csv_output.unescape(cell)
            try:
                values[target] = _PARSERS[target](cell) if target in _PARSERS else cell.strip()
            except ValidationError as exc:
                self.error(number, name, " ".join(exc.messages))
                failed = True
        company_data, presence, lead_data = {}, {}, {}
        for target, value in values.items():
            kind, attr = COLUMNS[target]
            if kind == "company":
                company_data[attr] = value
            elif kind == "presence" and value not in ("", None):
                presence[attr] = value
            elif kind == "lead":
                lead_data[attr] = value
        if presence:
            company_data["online_presence"] = presence
        if not lead_data.get("source"):
            lead_data["source"] = LeadSource.IMPORT
        for key in ("consent_to_contact", "do_not_contact"):
            lead_data[key] = bool(lead_data.get(key))
        company = self.new_company(id=uuid.uuid4())
        lead = self.new_lead(id=uuid.uuid4(), company=company)
        failed |= self._clean(
            number,
            "company",
            lambda: services.clean_company_fields(company, company_data, self.settings),
        )
        failed |= self._clean(
            number, "lead", lambda: services.clean_lead_fields(lead, lead_data, self.settings)
        )
        status = values.get("status") or LeadStatus.NEW
        if status not in STATUSES:
            self.error(number, self._column("status", "status"), f"Unknown status '{status}'.")
            failed = True
        lead.status = status
        failed |= not self._assign(number, lead, values.get("assigned_to", ""))
        if failed:
            return None
        tags = [t.strip() for t in values.get("tags", "").split(TAG_SEPARATOR) if t.strip()]
        return _Row(number, company, lead, tags)

    def _clean(self, number: int, target: str, clean: Callable[[], None]) -> bool:
        try:
            clean()
        except ValidationError as exc:
            for attr, messages in exc.message_dict.items():
                column = self._column("presence" if attr == "online_presence" else target, attr)
                self.error(number, column, " ".join(messages))
            return True
        return False

    def _assign(self, number: int, lead: Lead, email: str) -> bool:
        email = email.strip().lower()
        if email not in self.assignees:
            self.assignees[email] = self._resolve_assignee(email)
        assignee, problem = self.assignees[email]
        if problem:
            self.error(number, self._column("assignee", "email"), problem)
            return False
        lead.assigned_to = assignee
        return True

    def _resolve_assignee(self, email: str) -> tuple[User | None, str | None]:
        """The assignee for `email` (blank: the importer, unless they see everything)
        and what is wrong with it, checked once per distinct value."""
        if email and email not in self.members:
            return None, f"No active member with the email {email}."
        user = self.acting_user
        if email:
            assignee = self.members[email]
        elif user is None or access.scope_for(user, Action.CREATE, Resource.LEADS) == Scope.ALL:
            assignee = None
        else:
            assignee = user
        try:
            services.check_assignee(user, assignee, Action.CREATE)
        except ValidationError as exc:
            return None, " ".join(exc.messages)
        return assignee, None

    def deduplicate(self, rows: list[_Row]) -> list[_Row]:
        """The rows whose keys no lead of the organization, nor an earlier row, has.
        Run under the import lock, so that no lead is created between check and write."""
        self.known_keys = self._existing_keys()
        unique = []
        of_existing = defaultdict(list)  # lead id -> (issue, kind) of the rows matching it
        suppressed = SuppressionList()
        for row in rows:
            if suppressed.matches(
                emails=[row.lead.contact_email, row.company.email],
                phones=[row.lead.contact_phone, row.company.phone],
            ):
                self.error(row.number, "", SUPPRESSED_MESSAGE)
                continue
            keys = selectors.keys_of(row.lead)
            clash = next(
                (
                    (kind, self.known_keys[(kind, key)])
                    for kind, kind_keys in keys.items()
                    for key in sorted(kind_keys)
                    if (kind, key) in self.known_keys
                ),
                None,
            )
            if clash:
                kind, first = clash
                issue = RowIssue(row.number, self._duplicate_column(kind), "")
                self.report.duplicates.append(issue)
                if isinstance(first, int):
                    issue.reason = f"Duplicate of row {first}."
                else:
                    of_existing[first].append((issue, kind))
                continue
            for kind, kind_keys in keys.items():
                for key in kind_keys:
                    self.known_keys[(kind, key)] = row.number
            unique.append(row)
        self._describe_existing(of_existing)
        return unique

    def _describe_existing(self, of_existing: dict[uuid.UUID, list]) -> None:
        """Say which existing lead each row duplicates, as the importer may be told of it
        (leads outside their scope are not named)."""
        ids = list(of_existing)
        for start in range(0, len(ids), BATCH_SIZE):
            leads = Lead.objects.filter(pk__in=ids[start : start + BATCH_SIZE])
            found = [
                (issue, lead, [kind])
                for lead in leads.select_related("company").defer(
                    "search_vector", "company__search_vector"
                )
                for issue, kind in of_existing[lead.pk]
            ]
            told = duplicate_notice.notices(self.acting_user, [f[1:] for f in found])
            for (issue, *_), notice in zip(found, told, strict=True):
                issue.reason = f"Duplicate of {notice}."

    def _duplicate_column(self, kind: str) -> str:
        return {
            "phone": self._column("company", "phone"),
            "email": self._column("company", "email"),
        }.get(kind, self._column("company", "website"))

    def write(self, rows: list[_Row], progress) -> int:
        user = services.user_or_none(self.acting_user)
        tags = self._tags({name for row in rows for name in row.tags}, user)
        now = timezone.now()
        tag_fields = _copy_fields(LeadTag)
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            for row in batch:
                services.apply_score(row.lead, self.weights, 0, 0)
            # Plain rows rather than hundreds of thousands of model instances.
            links = (
                {
                    "id": uuid.uuid4(),
                    "created_at": now,
                    "updated_at": now,
                    "organization_id": self.organization_id,
                    "lead_id": row.lead.pk,
                    "tag_id": tags[name].pk,
                }
                for row in batch
                for name in dict.fromkeys(n.lower() for n in row.tags)
            )
            lead_tags = [[link[f.attname] for f in tag_fields] for link in links]
            # The tag links before their leads (the keys are checked at commit), so that
            # each lead is inserted with its listed tags and no trigger rewrites it.
            copy_insert(
                Company,
                map(_values_of(Company, now), (row.company for row in batch)),
                history_user=user,
                now=now,
            )
            copy_insert(LeadTag, lead_tags, history_user=user, now=now)
            copy_insert(
                Lead,
                map(_values_of(Lead, now), (row.lead for row in batch)),
                history_user=user,
                now=now,
                derived=LEAD_DERIVED_COLUMNS,
            )
            if progress:
                progress("written", len(batch))
        return len(rows)

    def _tags(self, names: set[str], user: User | None) -> dict[str, Tag]:
        """The tags of `names` by lower-cased name, those missing created, held until the
        import commits (`services.hold_tags`), as a tagging holds its tags: a delete of
        one waits for the import and takes the import's links off with the tag's others.
        One deleted before it is held (the hold waited for its delete) is missing on the
        next reading and created anew, as by the import sent a moment later; before, the
        import linked its leads to the deleted tag."""
        while True:
            tags = self._named_tags(names, user)
            if services.hold_tags(self.organization_id, tags.values()) == {
                tag.pk for tag in tags.values()
            }:
                return tags

    def _named_tags(self, names: set[str], user: User | None) -> dict[str, Tag]:
        """The tags of `names` by lower-cased name, those missing created. A tag that
        someone adds meanwhile (the API, the admin) is the import's too: its insert waits
        for theirs and then does nothing (ON CONFLICT), and theirs, committed, is read
        back. Only the tags created here get their history row."""
        keys = {name.lower() for name in names}
        existing = {t.name.lower(): t for t in Tag.objects.all() if t.name.lower() in keys}
        missing = {}
        for name in sorted(names):
            if name.lower() not in existing and name.lower() not in missing:
                missing[name.lower()] = Tag(organization_id=self.organization_id, name=name[:60])
        if not missing:
            return existing
        Tag.objects.bulk_create(missing.values(), ignore_conflicts=True)
        stored = {t.name.lower(): t for t in Tag.objects.all()}
        created = [t for t in missing.values() if stored[t.name.lower()].pk == t.pk]
        if created:
            Tag.history.bulk_history_create(created, default_user=user)
        return {**existing, **{key: stored[t.name.lower()] for key, t in missing.items()}}


# A lead's tags as lists show them, which the database keeps from its tag links
# (leads migration 0024): read from the links already inserted.
LEAD_DERIVED_COLUMNS = {"listed_tags": "leads_lead_listed_tags_of(organization_id, id)"}


def _copy_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.generated]


def copy_insert(
    model,
    rows: Iterable[Sequence],
    *,
    history_user: User | None,
    now: dt.datetime,
    derived: Mapping[str, str] | None = None,
) -> None:
    """Insert `rows` (values in the order of the model's stored columns) and their
    "created" history rows, fast. `derived` maps columns the model does not know to
    the SQL expressions, over the row's columns, that they are inserted with.

    `bulk_create` with history managed a few thousand rows a second here, most of it
    spent building parameters. COPY is the fast path, but PostgreSQL refuses COPY FROM
    into a table under row level security, so the rows are copied into a temporary
    table and moved with INSERT … SELECT, where the table's policy checks every row.
    """
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    columns = ", ".join(quote(f.column) for f in _copy_fields(model))
    table = quote(model._meta.db_table)
    temporary = quote(f"import_{model._meta.db_table}")
    history = quote(model.history.model._meta.db_table)
    with db.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {temporary} ON COMMIT DROP AS"
            f" SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {temporary} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        derived_columns = "".join(f", {quote(column)}" for column in derived or {})
        derived_values = "".join(f", {expression}" for expression in (derived or {}).values())
        cursor.execute(
            f"INSERT INTO {table} ({columns}{derived_columns})"
            f" SELECT {columns}{derived_values} FROM {temporary}"
        )
        # Where the import came from, as every history row records it (smartweb.history).
        origin = origin_attrs()
        origin_columns = ", ".join(quote(name) for name in origin)
        origin_values = ", ".join(["%s"] * len(origin))
        cursor.execute(
            f"INSERT INTO {history} ({columns}, history_id, history_date, history_type,"
            f" history_user_id, {origin_columns})"
            f" SELECT {columns}, gen_random_uuid(), %s, '+', %s, {origin_values}"
            f" FROM {temporary}",
            [now, getattr(history_user, "pk", None), *origin.values()],
        )
        cursor.execute(f"DROP TABLE {temporary}")


def _values_of(model, now: dt.datetime) -> Callable[[Any], list]:
    """A validated instance as a COPY row. Only JSON needs adapting (psycopg takes str,
    int, bool, Decimal, UUID, date and aware datetimes as they are); auto_now fields
    are stamped as `save()` would."""
    db = connections[DEFAULT_DB_ALIAS]
    readers = []
    for model_field in _copy_fields(model):
        if getattr(model_field, "auto_now", False):
            readers.append(lambda obj: now)
        elif isinstance(model_field, JSONField):
            readers.append(
                lambda obj, a=model_field.attname, e=model_field.encoder: db.ops.adapt_json_value(
                    getattr(obj, a), e
                )
            )
        else:
            readers.append(operator.attrgetter(model_field.attname))
    return lambda obj: [read(obj) for read in readers]


def import_leads(
    *,
    source: IO,
    acting_user: User | None,
    mapping: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    progress: Callable[[str, int], None] | None = None,
    refused: IO[str] | None = None,
) -> ImportReport:
    """Import a CSV of leads into the current organization. Raises `ImportRefused`.
    The refused rows, to correct and import again, are written to `refused` as CSV."""
    access.require(acting_user, Action.CREATE, Resource.LEADS)
    access.require(acting_user, Action.CREATE, Resource.COMPANIES)
    text = _read_text(source)
    importer = _Importer(acting_user=acting_user)
    rows = importer.parse(text, {_header_key(k): v for k, v in (mapping or {}).items()}, progress)
    report = importer.report
    with transaction.atomic():
        # One import per organization at a time, and no lead created meanwhile (see
        # services.lock_duplicate_keys): the check below sees every lead written before.
        advisory_xact_lock(services.IMPORT_LOCK, importer.organization_id)
        rows = importer.deduplicate(rows)
        if not report.errors or skip_bad_rows:
            report.created = importer.write(rows, progress)
            report.committed = True
    if refused is not None:
        write_refused(text, report, refused)
    return report


def write_refused(text: str, report: ImportReport, out: IO[str]) -> None:
    """The refused rows of the file `text` as a CSV to correct and import again: the
    row's number and its problems (columns the import ignores), then the file's own
    columns. Written row by row as the file is read again: an import of many refused
    rows kept them all in memory (530 MB for 17.6 MB of them)."""
    writer = csv_output.writer(out)
    reader = _reader(text)
    writer.writerow(["import_row", "import_problems", *next(reader)])
    # Both lists are in row order but for the suppressed rows' errors, found last.
    issues = heapq.merge(
        (("error", issue) for issue in sorted(report.errors, key=operator.attrgetter("row"))),
        (("duplicate", issue) for issue in report.duplicates),
        key=lambda kind_issue: kind_issue[1].row,
    )
    records = enumerate(reader, start=2)  # numbered as the import numbers them
    for number, of_row in itertools.groupby(issues, key=lambda kind_issue: kind_issue[1].row):
        record = next(record for at, record in records if at == number)
        problems = " | ".join(
            f"{kind}: {issue.field + ': ' if issue.field else ''}{issue.reason}"
            for kind, issue in of_row
        )
        writer.writerow([number, problems, *record])


# --- export ------------------------------------------------------------------------


def _export_row(lead: Lead) -> list[str]:
    company = lead.company
    presence = company.online_presence or {}
    values = {
        "id": lead.pk,
        "company_name": company.name,
        "website_status": presence.get("website_status", ""),
        "google_rating": presence.get("google_rating", ""),
        "google_review_count": presence.get("google_review_count", ""),
        "status": lead.status,
        "assigned_to": lead.assigned_to.email if lead.assigned_to else "",
        "tags": f"{TAG_SEPARATOR} ".join(t.name for t in lead.tags.all()),
        "lead_score": lead.lead_score,
        "created_at": lead.created_at.isoformat(),
        "next_follow_up_at": lead.next_follow_up_at.isoformat() if lead.next_follow_up_at else "",
        "consent_to_contact": "yes" if lead.consent_to_contact else "no",
        "do_not_contact": "yes" if lead.do_not_contact else "no",
    }
    for column, (target, attr) in COLUMNS.items():
        if column not in values:
            values[column] = getattr(company if target == "company" else lead, attr)
    return [values[column] for column in EXPORT_COLUMNS]


@transaction.atomic
def export_leads(
    *, queryset, out: IO[str], acting_user: User | None, request=None, description: str = ""
) -> int:
    """Write the leads of `queryset` the user may read as CSV; audited. Returns the count.
    A user whose role reads no leads is refused, as the API and the admin refuse them,
    before the export is recorded.

    Leads who opted out of the sale or sharing of their data (CCPA) are left out."""
    access.require(acting_user, Action.READ, Resource.LEADS)
    queryset = exclude_do_not_sell(queryset)
    if acting_user is not None:
        queryset = access.visible(acting_user, Action.READ, queryset)
    writer = csv_output.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    rows = (
        queryset.select_related("company", "assigned_to")
        .prefetch_related("tags")
        .defer("search_vector", "company__search_vector")
        .order_by("created_at", "pk")
    )
    with reporting_reads():  # smartweb.replica: an export reads the replica when it may
        for lead in rows.iterator(chunk_size=BATCH_SIZE):
            writer.writerow(_export_row(lead))
            count += 1
    record_audit_event(
        action=AuditAction.EXPORT,
        actor=acting_user,
        request=request,
        details={"resource": "leads", "rows": count, "description": description},
    )
    return count
