"""The dropdown written without a template per option shows what Django's does: the same
options, values, selection, attributes and escaping."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django import forms
from django.utils.safestring import mark_safe

from smartweb.forms import PlainSelect

CHOICES = [
    ("", "Everyone"),
    ("a1", 'Ann <admin> & "co"'),
    ("b2", mark_safe("<em>Bob</em>")),
    ("c3", "Cléo O'Neil"),
]


class _Elements(HTMLParser):
    """The elements with their attributes and text, in order."""

    def __init__(self):
        super().__init__()
        self.found: list[list] = []

    def handle_starttag(self, tag, attrs):
        self.found.append([tag, sorted(attrs), ""])

    def handle_data(self, data):
        if data.strip() and self.found:
            self.found[-1][2] += data.strip()


def _parsed(html: str) -> list[list]:
    parser = _Elements()
    parser.feed(str(html))
    return parser.found


def _field(widget, **attrs):
    class Filter(forms.Form):
        owner = forms.ChoiceField(choices=CHOICES, required=False, widget=widget(attrs=attrs))

    return Filter


@pytest.mark.parametrize("value", [None, "", "a1", "c3", "not a choice"])
@pytest.mark.parametrize("attrs", [{}, {"class": "wide", "data-x": "1 < 2"}])
def test_it_renders_what_djangos_select_renders(value, attrs):
    data = None if value is None else {"owner": value}
    django_html = str(_field(forms.Select, **attrs)(data)["owner"])
    plain_html = str(_field(PlainSelect, **attrs)(data)["owner"])
    assert _parsed(plain_html) == _parsed(django_html)


def test_labels_are_escaped_unless_marked_safe():
    html = str(_field(PlainSelect)({"owner": "a1"})["owner"])
    assert "Ann &lt;admin&gt; &amp; &quot;co&quot;" in html
    assert "<em>Bob</em>" in html
    assert '<option value="a1" selected>' in html


def test_grouped_choices_render_as_django_does():
    grouped = [("Team", [("a1", "Ann"), ("b2", "Bob")]), ("c3", "Cleo")]

    class Filter(forms.Form):
        owner = forms.ChoiceField(choices=grouped, widget=PlainSelect)

    class DjangoFilter(forms.Form):
        owner = forms.ChoiceField(choices=grouped)

    assert str(Filter({"owner": "b2"})["owner"]) == str(DjangoFilter({"owner": "b2"})["owner"])
