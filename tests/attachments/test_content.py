"""What an upload is, read from its bytes, and the name kept of it."""

from __future__ import annotations

import pytest

from attachments import content
from tests.attachments import samples


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\sam\\quote.pdf", "quote.pdf"),
        ('bad"name\x00\n.pdf', "bad_name__.pdf"),
        ("Devis ÉTÉ.pdf", "Devis ÉTÉ.pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
        ("...", ""),
    ],
)
def test_the_kept_name_has_no_path_nor_controls(given, kept):
    assert content.safe_name(given) == kept


def test_a_csv_with_a_byte_order_mark_is_text():
    checked = content.check(
        samples.upload("export.csv", b"\xef\xbb\xbf" + samples.CSV), "export.csv"
    )
    assert checked.content_type == "text/csv"


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(content.Refused, match="nor UTF-8 text"):
        content.check(samples.upload("old.txt", "café".encode("latin-1")), "old.txt")


def test_a_name_without_an_extension_is_refused():
    with pytest.raises(content.Refused, match="without an extension"):
        content.check(samples.upload("README", samples.TEXT), "README")
