"""``POST …/objects/{type}/search``: operators, groups, sorts, paging and the 10k ceiling."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.clock import ManualClock
from sandbox.hubspot import HubSpotLimits
from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice

SEARCH = f"/crm/objects/2026-09/{OBJECT}/search"


def _ids(api: Api, *filters: dict[str, Any], **body: Any) -> list[str]:
    request = {
        "filterGroups": [{"filters": list(filters)}] if filters else [],
        "limit": 200,
        "properties": ["xero_invoice_id"],
    }
    request.update(body)
    response = api.post(SEARCH, request)
    assert response.status_code == 200, response.text
    return [r["properties"]["xero_invoice_id"] for r in response.json()["results"]]


@pytest.fixture
def rows(api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox) -> None:
    hubspot_sandbox.emulator.seed(
        OBJECT,
        [
            invoice(1, status="PAID", total="10", due_date="2026-01-01", reference="PO alpha-7"),
            invoice(2, status="AUTHORISED", total="20.5", due_date="2026-02-01"),
            invoice(3, status="DRAFT", total="100", due_date="2026-03-01", reference="beta"),
            invoice(4, status="VOIDED", total="9.99", due_date="2026-04-01", contact_name="Acme"),
        ],
    )


def _f(name: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"propertyName": name, "operator": operator, **extra}
    if value is not None:
        spec["value"] = value
    return spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (_f("status", "EQ", "PAID"), [1]),
        (_f("status", "EQ", "paid"), [1]),
        (_f("status", "NEQ", "PAID"), [2, 3, 4]),
        (_f("total", "LT", "20.5"), [1, 4]),
        (_f("total", "LTE", "20.50"), [1, 2, 4]),
        (_f("total", "GT", "10"), [2, 3]),
        (_f("total", "GTE", "10"), [1, 2, 3]),
        (_f("total", "BETWEEN", "9.99", highValue="20.5"), [1, 2, 4]),
        (_f("due_date", "GTE", "1769904000000"), [2, 3, 4]),
        (_f("due_date", "BETWEEN", "2026-02-01", highValue="2026-03-01"), [2, 3]),
        (_f("status", "IN", values=["PAID", "DRAFT"]), [1, 3]),
        (_f("status", "NOT_IN", values=["PAID", "DRAFT"]), [2, 4]),
        (_f("reference", "HAS_PROPERTY"), [1, 3]),
        (_f("reference", "NOT_HAS_PROPERTY"), [2, 4]),
        (_f("reference", "CONTAINS_TOKEN", "alpha-7"), [1]),
        (_f("reference", "CONTAINS_TOKEN", "PO"), [1]),
        (_f("reference", "CONTAINS_TOKEN", "bet*"), [3]),
        (_f("reference", "NOT_CONTAINS_TOKEN", "beta"), [1, 2, 4]),
    ],
)
def test_operators(api: Api, rows: None, spec: dict[str, Any], expected: list[int]) -> None:
    assert _ids(api, spec) == [f"inv-{n:06d}" for n in expected]


def test_groups_are_ored_and_filters_anded(api: Api, rows: None) -> None:
    body = {
        "filterGroups": [
            {"filters": [_f("status", "EQ", "PAID")]},
            {"filters": [_f("total", "GT", "50"), _f("status", "EQ", "DRAFT")]},
        ],
        "properties": ["xero_invoice_id"],
    }
    found = api.post(SEARCH, body).json()
    assert found["total"] == 2
    assert [r["properties"]["xero_invoice_id"] for r in found["results"]] == [
        "inv-000001",
        "inv-000003",
    ]


def test_sorts_properties_and_query(api: Api, rows: None) -> None:
    by_total = _ids(api, sorts=[{"propertyName": "total", "direction": "DESCENDING"}])
    assert by_total == ["inv-000003", "inv-000002", "inv-000001", "inv-000004"]
    assert _ids(api, sorts=["-due_date"])[0] == "inv-000004"
    assert _ids(api, query="acme") == ["inv-000004"]
    found = api.post(SEARCH, {"properties": ["total"], "limit": 1}).json()
    assert found["results"][0]["properties"] == {"total": "10"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"filterGroups": [{"filters": [_f("status", "EQ", "PAID")]}] * 6},
            "too many filterGroups",
        ),
        ({"filterGroups": [{"filters": [_f("status", "EQ", "PAID")] * 7}]}, "too many filters"),
        ({"filterGroups": [{"filters": [_f("status", "EQ", "PAID")] * 6}] * 4}, "18 in all"),
        ({"limit": 201}, "limit 201"),
        ({"filterGroups": [{"filters": [_f("nope", "EQ", "x")]}]}, "'nope' does not exist"),
        ({"filterGroups": [{"filters": [_f("status", "LIKE", "x")]}]}, "Unknown filter operator"),
        ({"sorts": ["total", "status"]}, "only one sort"),
        ({"after": "abc"}, "Invalid 'after'"),
    ],
)
def test_invalid_searches_are_400(
    api: Api, rows: None, body: dict[str, Any], fragment: str
) -> None:
    response = api.post(SEARCH, body)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert fragment in response.json()["message"]


def test_windowing_on_hs_lastmodifieddate_with_epoch_ms(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    hubspot_sandbox.emulator.set_clock(clock)
    api.upsert([invoice(1), invoice(2)])
    clock.advance(minutes=30)
    cutoff_ms = int(clock().timestamp() * 1000)
    api.upsert([invoice(2, status="PAID"), invoice(3)])
    window = _ids(
        api,
        _f("hs_lastmodifieddate", "GTE", str(cutoff_ms)),
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
    )
    assert window == ["inv-000002", "inv-000003"]
    before = _ids(api, _f("hs_lastmodifieddate", "LT", str(cutoff_ms)))
    assert before == ["inv-000001"]
    iso = _ids(api, _f("hs_lastmodifieddate", "GT", "2026-03-01T12:10:00Z"))
    assert iso == ["inv-000002", "inv-000003"]
    created = _ids(api, _f("hs_createdate", "LT", str(cutoff_ms)))
    assert created == ["inv-000001", "inv-000002"]


def test_paging_stops_at_10000_results_with_a_400(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    hubspot_sandbox.emulator.limits = HubSpotLimits.unlimited()
    hubspot_sandbox.emulator.seed(OBJECT, [invoice(n) for n in range(10_050)])
    body: dict[str, Any] = {"limit": 200, "properties": ["xero_invoice_id"]}
    seen = 0
    for _page in range(50):
        answer = api.post(SEARCH, body).json()
        assert answer["total"] == 10_050
        seen += len(answer["results"])
        body["after"] = answer["paging"]["next"]["after"]
    assert seen == 10_000 and body["after"] == "10000"
    past = api.post(SEARCH, body)
    assert past.status_code == 400
    assert past.json()["category"] == "VALIDATION_ERROR"
    assert "10000" in past.json()["message"]
    # a window that matches fewer records reads to the end and stops cleanly
    last = api.post(
        SEARCH,
        {"filterGroups": [{"filters": [_f("hs_object_id", "GTE", str(30_000_000_001 + 10_000))]}]},
    ).json()
    assert last["total"] == 50 and "paging" in last
    tail = api.post(
        SEARCH,
        {
            "filterGroups": [
                {"filters": [_f("hs_object_id", "GTE", str(30_000_000_001 + 10_000))]}
            ],
            "limit": 200,
        },
    ).json()
    assert len(tail["results"]) == 50 and "paging" not in tail


def test_archived_records_are_not_found(api: Api, schema: Any) -> None:
    record_id = api.upsert([invoice(1)]).json()["results"][0]["id"]
    api("DELETE", f"/crm/objects/2026-09/{OBJECT}/{record_id}")
    assert api.post(SEARCH, {}).json()["total"] == 0


def test_search_can_lag_writes_like_hubspots_index(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    clock = ManualClock()
    emulator = hubspot_sandbox.emulator
    emulator.set_clock(clock)
    lag = __import__("requests").post(
        f"{hubspot_sandbox.url}/_sandbox/search_lag", json={"seconds": 3}
    )
    assert lag.json() == {"search_lag_seconds": 3.0}
    paid = _f("status", "EQ", "PAID")

    api.upsert([invoice(1)])
    assert _ids(api) == []  # created, not yet indexed
    clock.advance(seconds=3)
    assert _ids(api) == ["inv-000001"]

    api.upsert([invoice(1, status="PAID")])
    clock.advance(seconds=1)
    api.upsert([invoice(1, status="VOIDED")])
    assert _ids(api, paid) == []  # search still sees the indexed AUTHORISED version
    assert _ids(api, _f("status", "EQ", "AUTHORISED")) == ["inv-000001"]
    clock.advance(seconds=3)
    assert _ids(api, _f("status", "EQ", "VOIDED")) == ["inv-000001"]

    record_id = emulator.records(OBJECT)[0]["id"]
    api("DELETE", f"/crm/objects/2026-09/{OBJECT}/{record_id}")
    assert _ids(api) == ["inv-000001"]  # archive not indexed yet
    clock.advance(seconds=3)
    assert _ids(api) == []
    # reads by id are never stale
    assert emulator.records(OBJECT)[0]["properties"]["status"] == "VOIDED"
    emulator.reset()
    assert emulator.search_lag_seconds == 0


def test_newest_first_with_the_live_count_and_hubspots_clock(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    """What the snapshot's one-call read relies on: ``DESCENDING`` by ``hs_lastmodifieddate``,
    ``total`` = live records only (archived ones never match), filter groups ORed to leave an
    interval out, and a ``Date`` header on HubSpot's own clock (the one stamping records)."""
    clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    hubspot_sandbox.emulator.set_clock(clock)
    api.upsert([invoice(1), invoice(2)])
    clock.advance(seconds=10)
    window_start_ms = int(clock().timestamp() * 1000)
    api.upsert([invoice(3)])
    clock.advance(seconds=10)
    api.upsert([invoice(4)])
    archived_id = api.upsert([invoice(2, status="PAID")]).json()["results"][0]["id"]
    api("DELETE", f"/crm/objects/2026-09/{OBJECT}/{archived_id}")

    newest = {"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}]}
    response = api.post(SEARCH, {**newest, "limit": 2, "properties": ["xero_invoice_id"]})
    answer = response.json()
    assert [r["properties"]["xero_invoice_id"] for r in answer["results"]] == [
        "inv-000004",
        "inv-000003",
    ]
    assert answer["total"] == 3  # invoice 2 is archived
    assert response.headers["Date"] == "Sun, 01 Mar 2026 12:00:20 GMT"

    outside = [
        {"filters": [_f("hs_lastmodifieddate", "LT", str(window_start_ms))]},
        {"filters": [_f("hs_lastmodifieddate", "GT", str(window_start_ms + 1))]},
    ]
    assert _ids(api, filterGroups=outside, **newest) == ["inv-000004", "inv-000001"]
    counted = api.post(SEARCH, {"filterGroups": outside, "limit": 1}).json()
    assert counted["total"] == 2 and len(counted["results"]) == 1
