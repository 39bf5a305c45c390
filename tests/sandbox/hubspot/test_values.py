"""Property values: validation with HubSpot's error categories, and how values are echoed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandbox.hubspot.conftest import OBJECT, Api

BASE = f"/crm/objects/2026-09/{OBJECT}"


def _create(api: Api, **properties: Any) -> Any:
    return api.post(BASE, {"properties": {"xero_invoice_id": "v-1", **properties}})


@pytest.mark.parametrize(
    ("name", "sent", "echoed"),
    [
        ("total", "100.50", "100.5"),
        ("total", "7.00", "7"),
        ("total", "-0.0", "0"),
        ("total", "1234567.891", "1234567.891"),
        ("total", 42, "42"),
        ("due_date", "2026-01-31", "2026-01-31"),
        ("due_date", "1769817600000", "2026-01-31"),
        ("due_date", "2026-01-31T00:00:00Z", "2026-01-31"),
        ("xero_updated_at", "2026-01-31T10:15:30Z", "2026-01-31T10:15:30.000Z"),
        ("xero_updated_at", "2026-01-31T11:15:30.250+01:00", "2026-01-31T10:15:30.250Z"),
        ("xero_updated_at", "1769854530123", "2026-01-31T10:15:30.123Z"),
        ("status", "PAID", "PAID"),
        ("reference", "  spaces kept for strings ", "  spaces kept for strings "),
    ],
)
def test_values_are_normalised_and_echoed(
    api: Api, schema: Any, name: str, sent: Any, echoed: str
) -> None:
    created = _create(api, **{name: sent})
    assert created.status_code == 201, created.text
    assert created.json()["properties"][name] == echoed
    record_id = created.json()["id"]
    got = api.get(f"{BASE}/{record_id}", params={"properties": name}).json()
    assert got["properties"] == {name: echoed}


@pytest.mark.parametrize(
    ("name", "sent", "code", "fragment"),
    [
        ("total", "12,50", "INVALID_NUMBER", "not a valid number"),
        ("total", "NaN", "INVALID_NUMBER", "not a valid number"),
        ("total", " 12", "LEADING_TRAILING_WHITESPACE", "whitespace"),
        ("status", "paid", "INVALID_OPTION", "was not one of the allowed options"),
        ("due_date", "2026-01-31T10:00:00Z", "INVALID_DATE", "not midnight"),
        ("due_date", "1769817600001", "INVALID_DATE", "not midnight"),
        ("due_date", "31/01/2026", "INVALID_DATE", "not a valid date"),
        ("xero_updated_at", "yesterday", "INVALID_DATETIME", "not a valid datetime"),
        ("no_such_property", "x", "PROPERTY_DOESNT_EXIST", "does not exist"),
        ("hs_lastmodifieddate", "1769817600000", "READ_ONLY_VALUE", "read only"),
    ],
)
def test_invalid_value_is_400_with_hubspots_shape(
    api: Api, schema: Any, name: str, sent: str, code: str, fragment: str
) -> None:
    response = _create(api, **{name: sent})
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    listed = json.loads(body["message"].removeprefix("Property values were not valid: "))
    assert listed == [
        {"isValid": False, "message": listed[0]["message"], "error": code, "name": name}
    ]
    assert fragment in listed[0]["message"]
    assert body["errors"][0]["code"] == code
    assert api.get(BASE).json()["results"] == []


def test_bool_properties_take_true_or_false(api: Api, schema: Any) -> None:
    api.post(
        f"/crm/properties/2026-09/{OBJECT}",
        {"name": "disputed", "label": "Disputed", "type": "bool", "fieldType": "booleancheckbox"},
    )
    assert _create(api, disputed="true").json()["properties"]["disputed"] == "true"
    wrong = api.post(BASE, {"properties": {"xero_invoice_id": "v-2", "disputed": "yes"}})
    assert wrong.status_code == 400 and "INVALID_BOOLEAN" in wrong.json()["message"]


def test_all_problems_of_one_input_are_listed(api: Api, schema: Any) -> None:
    response = _create(api, total="abc", status="nope", due_date="2026-01-31T01:00:00Z")
    listed = json.loads(response.json()["message"].removeprefix("Property values were not valid: "))
    assert [p["error"] for p in listed] == ["INVALID_NUMBER", "INVALID_OPTION", "INVALID_DATE"]


def test_empty_string_clears_a_value(api: Api, schema: Any) -> None:
    record_id = _create(api, reference="PO-1", total="5").json()["id"]
    cleared = api.patch(f"{BASE}/{record_id}", {"properties": {"reference": ""}})
    assert cleared.status_code == 200
    assert cleared.json()["properties"]["reference"] is None
    got = api.get(f"{BASE}/{record_id}", params={"properties": "reference,total"}).json()
    assert got["properties"] == {"reference": None, "total": "5"}


def test_unique_value_conflict_on_create_and_update(api: Api, schema: Any) -> None:
    first = _create(api).json()["id"]
    duplicate = _create(api)
    assert duplicate.status_code == 409
    body = duplicate.json()
    assert body["category"] == "CONFLICT"
    assert first in body["message"]
    other = api.post(BASE, {"properties": {"xero_invoice_id": "v-2"}}).json()["id"]
    steal = api.patch(f"{BASE}/{other}", {"properties": {"xero_invoice_id": "v-1"}})
    assert steal.status_code == 409
    # an archived record frees its unique value
    assert api("DELETE", f"{BASE}/{first}").status_code == 204
    assert _create(api).status_code == 201


def test_update_without_properties_is_400(api: Api, schema: Any) -> None:
    record_id = _create(api).json()["id"]
    response = api.patch(f"{BASE}/{record_id}", {"properties": {}})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "No properties found to update, please provide at least one."
    )


def test_required_properties_are_enforced_on_create(api: Api, schema: Any) -> None:
    response = api.post(BASE, {"properties": {"invoice_number": "INV-1"}})
    assert response.status_code == 400
    assert '"error":"REQUIRED_PROPERTY","name":"xero_invoice_id"' in response.json()["message"]
    batch = api.post(f"{BASE}/batch/create", {"inputs": [{"properties": {"total": "1"}}]})
    assert batch.status_code == 400  # 2026-09: the whole request is refused
    assert batch.json()["errors"][0]["code"] == "REQUIRED_PROPERTY"
    older = api.post(
        f"/crm/objects/2026-03/{OBJECT}/batch/create", {"inputs": [{"properties": {"total": "1"}}]}
    )
    assert older.status_code == 207  # before 2026-09: only the schema's rule, per input
    assert "REQUIRED_PROPERTY" in older.json()["errors"][0]["message"]
