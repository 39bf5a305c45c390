"""``/crm/properties/2026-09/{objectType}``: list, get, create, update, groups and their rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api

BASE = f"/crm/properties/2026-09/{OBJECT}"


def _prop(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "label": name.title(), "type": "string", "fieldType": "text", **extra}


def test_list_and_get_include_hubspot_defined_properties(api: Api, schema: dict[str, Any]) -> None:
    listed = api.get(BASE).json()["results"]
    by_name = {p["name"]: p for p in listed}
    assert by_name["hs_lastmodifieddate"]["type"] == "datetime"
    assert by_name["hs_object_id"]["hubspotDefined"] is True
    assert by_name["status"]["options"][0]["value"] == "DRAFT"
    one = api.get(f"{BASE}/due_date").json()
    assert (one["type"], one["fieldType"], one["groupName"]) == (
        "date",
        "date",
        "xero_invoice_information",
    )
    missing = api.get(f"{BASE}/nope")
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_create_property_then_409_when_it_exists(api: Api, schema: dict[str, Any]) -> None:
    created = api.post(BASE, _prop("po_number", description="Customer PO"))
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "po_number"
    again = api.post(BASE, _prop("po_number"))
    assert again.status_code == 409
    assert again.json()["category"] == "OBJECT_ALREADY_EXISTS"
    assert "po_number" in again.json()["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (_prop("Bad Name"), "Property name"),
        (_prop("hs_mine"), "hs_ prefix"),
        (_prop("x", type="currency"), "type 'currency' is invalid"),
        (_prop("x", type="datetime", fieldType="text"), "not valid for type 'datetime'"),
        (_prop("x", type="bool", fieldType="select"), "not valid for type 'bool'"),
        (_prop("x", type="enumeration", fieldType="select"), "at least one option"),
        (_prop("x", groupName="no_such_group"), "property group 'no_such_group'"),
        (_prop("x", label=""), "label is required"),
    ],
)
def test_invalid_property_is_400(
    api: Api, schema: dict[str, Any], body: dict[str, Any], fragment: str
) -> None:
    response = api.post(BASE, body)
    assert response.status_code == 400, response.text
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert fragment in response.json()["message"]


def test_every_documented_type_and_field_type_pair_is_accepted(
    api: Api, schema: dict[str, Any]
) -> None:
    options = [{"label": "A", "value": "a", "displayOrder": 0, "hidden": False}]
    pairs = [
        ("string", "textarea", None),
        ("number", "number", None),
        ("date", "date", None),
        ("datetime", "date", None),
        ("enumeration", "radio", options),
        ("enumeration", "checkbox", options),
        ("bool", "booleancheckbox", None),
    ]
    for index, (prop_type, field_type, opts) in enumerate(pairs):
        body = _prop(f"p{index}", type=prop_type, fieldType=field_type)
        if opts:
            body["options"] = opts
        assert api.post(BASE, body).status_code == 201, (prop_type, field_type)
    flag = api.get(f"{BASE}/p6").json()
    assert [o["value"] for o in flag["options"]] == ["true", "false"]


def test_groups_can_be_created_and_used(api: Api, schema: dict[str, Any]) -> None:
    assert api.post(f"{BASE}/groups", {"name": "extra", "label": "Extra"}).status_code == 201
    assert api.post(f"{BASE}/groups", {"name": "extra", "label": "Extra"}).status_code == 409
    assert api.post(BASE, _prop("note", groupName="extra")).status_code == 201
    names = [g["name"] for g in api.get(f"{BASE}/groups").json()["results"]]
    assert names == ["xero_invoice_information", "extra"]


def test_unique_value_properties_are_capped_per_object(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox
) -> None:
    assert hubspot_sandbox.emulator.limits.max_unique_properties == 10
    for n in range(9):
        assert api.post(BASE, _prop(f"key_{n}", hasUniqueValue=True)).status_code == 201
    over = api.post(BASE, _prop("key_10", hasUniqueValue=True))
    assert over.status_code == 400
    assert "at most 10" in over.json()["message"]


def test_patch_adds_an_option(api: Api, schema: dict[str, Any]) -> None:
    current = api.get(f"{BASE}/status").json()
    archived = {"label": "Archived", "value": "ARCHIVED", "displayOrder": 9, "hidden": False}
    options = [*current["options"], archived]
    updated = api.patch(f"{BASE}/status", {"options": options})
    assert updated.status_code == 200, updated.text
    assert updated.json()["options"][-1]["value"] == "ARCHIVED"
    assert api.patch(f"{BASE}/hs_object_id", {"label": "x"}).status_code == 400


def test_archive_property_and_delete_schema(api: Api, schema: dict[str, Any]) -> None:
    assert api.post(BASE, _prop("temp", hasUniqueValue=True)).status_code == 201
    assert api("DELETE", f"{BASE}/temp").status_code == 204
    assert api.get(f"{BASE}/temp").status_code == 404
    assert api("DELETE", f"{BASE}/invoice_number").status_code == 400  # primary display
    assert api("DELETE", f"{BASE}/hs_object_id").status_code == 400
    assert api.post(BASE, _prop("temp", type="number", fieldType="number")).status_code == 201

    record = api.post(f"/crm/objects/2026-09/{OBJECT}", {"properties": {"xero_invoice_id": "a"}})
    refused = api("DELETE", f"/crm-object-schemas/2026-09/schemas/{OBJECT}")
    assert refused.status_code == 400 and "1 records" in refused.json()["message"]
    api("DELETE", f"/crm/objects/2026-09/{OBJECT}/{record.json()['id']}")
    assert api("DELETE", f"/crm-object-schemas/2026-09/schemas/{OBJECT}").status_code == 204
    assert api.get(f"/crm-object-schemas/2026-09/schemas/{OBJECT}").status_code == 404


def test_an_option_without_hidden_or_display_order_is_refused(api: Api, schema: Any) -> None:
    """HubSpot's OptionInput schema requires ``hidden`` and ``displayOrder`` (2026-09 spec)."""
    body = {"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select"}
    for option in ({"label": "A", "value": "a", "displayOrder": 0}, {"label": "A", "value": "a"}):
        refused = api.post(BASE, {**body, "options": [option]})
        assert refused.status_code == 400
        assert "required attributes are not set" in refused.json()["message"]
        assert "hidden" in refused.json()["message"]
    option = {"label": "A", "value": "a", "displayOrder": 0, "hidden": False}
    assert api.post(BASE, {**body, "options": [option]}).status_code == 201
