"""Moving one organization to another database (docs/operations.md, "Moving an
organization"; ADR 0025).

- `catalog`: which tables hold the organization's rows, their columns, the order the
  foreign keys impose, and the per-table checksum both sides compute the same way;
- `export`: every row of one organization into a directory (one COPY file per table and
  a manifest.json), read as the backup role in one snapshot;
- `files`: the attachment files the rows name, carried beside them;
- `load`: that directory into another database, as its owner role in the organization's
  context, in one transaction that is refused before it writes and verified before it
  commits.
"""
