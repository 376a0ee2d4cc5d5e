"""The serializers' row plan (smartweb.api.row_reading) answers exactly what DRF's own
field walk answers: every list endpoint, every row's detail, as an admin and as a rep,
compared byte for byte and field by field on the generated data; and the edge cases of
DRF's attribute reading (absent attributes, callables, mappings, references)."""

from __future__ import annotations

import json
import types
import uuid

import pytest
from rest_framework import serializers

from accounts.api.urls import router as accounts_router
from bench import run as bench_run
from crm.api.urls import router as crm_router
from leads.api.urls import router as leads_router
from leads.models import Lead
from smartweb.api import row_reading
from smartweb.api.serializers import ModelSerializer, PrimaryKeyRelatedField

ROUTES = sorted(
    (prefix, viewset)
    for router in (accounts_router, leads_router, crm_router)
    for prefix, viewset, _ in router.registry
    if hasattr(viewset, "list")
)


def _stock(monkeypatch):
    """DRF's own field walk for the project's serializers."""
    monkeypatch.setattr(
        ModelSerializer, "to_representation", serializers.Serializer.to_representation
    )


def _both(client, url: str, monkeypatch) -> tuple[bytes, bytes]:
    planned = client.get(url)
    with monkeypatch.context() as patch:
        _stock(patch)
        stock = client.get(url)
    # A list the rep may not read is a 403 either way; a list without details a 404.
    assert planned.status_code == stock.status_code, (url, planned.content[:300])
    return planned.content, stock.content


def _assert_same(planned: bytes, stock: bytes, url: str) -> None:
    new, old = json.loads(planned), json.loads(stock)
    rows_new = new.get("results", new) if isinstance(new, dict) else new
    rows_old = old.get("results", old) if isinstance(old, dict) else old
    if isinstance(rows_new, list):
        assert len(rows_new) == len(rows_old), url
        for row_new, row_old in zip(rows_new, rows_old, strict=True):
            for field in row_old:
                assert row_new.get(field) == row_old[field], (url, field)
            assert list(row_new) == list(row_old), url
    assert planned == stock, url


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ["admin", "rep"])
@pytest.mark.parametrize("prefix", [prefix for prefix, _ in ROUTES])
def test_every_list_and_its_rows_answer_as_drfs_walk(prefix, actor, params, monkeypatch):
    client = bench_run.api_clients(params)[actor]
    url = f"/api/v1/{prefix}/?page_size=100"
    planned, stock = _both(client, url, monkeypatch)
    _assert_same(planned, stock, url)
    if actor == "admin":  # every list has rows for the admin
        assert b'"id"' in planned or b"[]" in planned or b'"count":0' in planned, url
    rows = json.loads(planned)
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    if not isinstance(rows, list):  # a 403's error object
        return
    for row in rows[:3]:
        if isinstance(row, dict) and "id" in row:
            detail = f"/api/v1/{prefix}/{row['id']}/"
            _assert_same(*_both(client, detail, monkeypatch), detail)


@pytest.mark.django_db
def test_the_board_and_the_timeline_answer_as_drfs_walk(params, monkeypatch):
    client = bench_run.api_clients(params)["admin"]
    for url in (
        f"/api/v1/pipelines/{params['pipeline']}/board/",
        f"/api/v1/leads/{params['lead']}/timeline/",
        f"/api/v1/leads/{params['lead']}/",
    ):
        _assert_same(*_both(client, url, monkeypatch), url)


# --- DRF's attribute reading, case by case (no database) ----------------------------


class _Row:
    def __init__(self, **values):
        self.__dict__.update(values)


class _Edges(serializers.Serializer):
    text = serializers.CharField()
    number = serializers.IntegerField()
    flag = serializers.BooleanField()
    choice = serializers.ChoiceField(choices=["a", "b"])
    ident = serializers.UUIDField()
    data = serializers.JSONField()
    absent_default = serializers.CharField(default="fallback")
    absent_null = serializers.CharField(allow_null=True)
    absent_optional = serializers.CharField(required=False)
    computed = serializers.CharField()
    renamed = serializers.CharField(source="text")
    nested = serializers.CharField(source="inner.value")
    method = serializers.SerializerMethodField()
    decimal = serializers.DecimalField(max_digits=6, decimal_places=2)

    def get_method(self, row):
        return "m"

    def to_representation(self, instance):
        return row_reading.represent(self, instance)


def _edge_row(**overrides):
    values = {
        "text": "t",
        "number": True,  # not an int's exact type: DRF's int() makes it 1
        "flag": 1,  # DRF's BooleanField makes it True
        "choice": "c",  # not a choice: as it is
        "ident": uuid.UUID(int=7),
        "data": {"x": [1.5]},
        "computed": lambda: "called",
        "inner": _Row(value="deep"),
        "decimal": __import__("decimal").Decimal("1.5"),
    }
    values.update(overrides)
    return _Row(**values)


@pytest.mark.parametrize(
    "row",
    [
        _edge_row(),
        _edge_row(text=None, number=3, flag=False, choice="a", ident="not-a-uuid"),
        {
            "text": "mapped",
            "number": 2,
            "flag": True,
            "choice": "b",
            "ident": uuid.UUID(int=1),
            "data": None,
            "computed": "c",
            "inner": {"value": "v"},
            "decimal": 2,
        },
    ],
    ids=["object", "other-types", "mapping"],
)
def test_edge_cases_answer_as_drfs_walk(row):
    serializer = _Edges()
    assert serializer.to_representation(row) == serializers.Serializer.to_representation(
        serializer, row
    )


def test_a_missing_required_attribute_fails_as_in_drf():
    class Strict(serializers.Serializer):
        text = serializers.CharField()

        def to_representation(self, instance):
            return row_reading.represent(self, instance)

    with pytest.raises(AttributeError, match="Got AttributeError when attempting to get"):
        Strict().to_representation(types.SimpleNamespace())


def test_a_reference_reads_its_column():
    class LeadReference(ModelSerializer):
        merged_into = PrimaryKeyRelatedField(read_only=True)

        class Meta:
            model = Lead
            fields = ["id", "merged_into"]

    target = uuid.uuid4()
    lead = Lead(id=uuid.uuid4(), merged_into_id=target)
    serializer = LeadReference()
    assert row_reading.plan(serializer)[1][1] == "pk"
    assert serializer.to_representation(lead) == {"id": str(lead.id), "merged_into": str(target)}
    lead.merged_into_id = None
    assert serializer.to_representation(lead) == {"id": str(lead.id), "merged_into": None}
