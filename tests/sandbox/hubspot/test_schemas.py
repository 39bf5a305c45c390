"""``…/schemas`` (2026-09): create, list, get by every name, validation and conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.hubspot.conftest import Api, invoice_schema


def test_created_schema_is_addressable_by_id_fqn_and_name(api: Api, schema: dict[str, Any]) -> None:
    assert schema["name"] == "xero_invoice"
    assert schema["objectTypeId"].startswith("2-")
    assert schema["fullyQualifiedName"] == "p12345678_xero_invoice"
    assert schema["primaryDisplayProperty"] == "invoice_number"
    assert schema["labels"] == {"singular": "Invoice", "plural": "Invoices"}
    names = [p["name"] for p in schema["properties"]]
    assert {"hs_object_id", "hs_createdate", "hs_lastmodifieddate", "xero_invoice_id"} <= set(names)
    unique = [p["name"] for p in schema["properties"] if p["hasUniqueValue"]]
    assert unique == ["xero_invoice_id"]

    for key in (schema["objectTypeId"], schema["fullyQualifiedName"], "xero_invoice"):
        got = api.get(f"/crm-object-schemas/2026-09/schemas/{key}")
        assert got.status_code == 200 and got.json()["objectTypeId"] == schema["objectTypeId"]
        assert api.get(f"/crm/objects/2026-09/{key}").status_code == 200
    assert (
        api.get("/crm-object-schemas/2026-09/schemas").json()["results"][0]["name"]
        == "xero_invoice"
    )
    assert len(api.get("/crm-object-schemas/2026-09/schemas").json()["results"]) == 1


def test_existing_name_is_409(api: Api, schema: dict[str, Any]) -> None:
    again = api.post("/crm-object-schemas/2026-09/schemas", invoice_schema())
    assert again.status_code == 409
    assert again.json()["category"] == "OBJECT_ALREADY_EXISTS"


def test_unknown_schema_is_404_and_unknown_object_type_400(api: Api) -> None:
    missing = api.get("/crm-object-schemas/2026-09/schemas/nothing_here")
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    objects = api.get("/crm/objects/2026-09/nothing_here")
    assert objects.status_code == 400
    assert objects.json()["message"] == "Unable to infer object type from: nothing_here"


def _broken(**changes: Any) -> dict[str, Any]:
    body = invoice_schema()
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (_broken(name="Xero Invoice"), "Object name"),
        (_broken(name="invoice"), "reserved"),
        (_broken(name="contacts"), "reserved"),
        (_broken(labels={"singular": "Invoice"}), "labels"),
        (_broken(primaryDisplayProperty="nope"), "primaryDisplayProperty"),
        (_broken(searchableProperties=["nope"]), "searchableProperties"),
        (_broken(requiredProperties=["nope"]), "requiredProperties"),
        (_broken(properties=[]), "properties"),
        (
            _broken(properties=[{"name": "a", "label": "A", "type": "text", "fieldType": "text"}]),
            "type 'text' is invalid",
        ),
        (
            _broken(
                properties=[{"name": "a", "label": "A", "type": "number", "fieldType": "text"}]
            ),
            "fieldType 'text' is not valid for type 'number'",
        ),
        (
            _broken(
                properties=[
                    {"name": "s", "label": "S", "type": "enumeration", "fieldType": "select"}
                ],
                primaryDisplayProperty="s",
                searchableProperties=[],
                secondaryDisplayProperties=[],
                requiredProperties=[],
            ),
            "needs at least one option",
        ),
    ],
)
def test_invalid_schema_is_400_validation_error(
    api: Api, body: dict[str, Any], fragment: str
) -> None:
    response = api.post("/crm-object-schemas/2026-09/schemas", body)
    assert response.status_code == 400, response.text
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert fragment in response.json()["message"]
    assert api.get("/crm-object-schemas/2026-09/schemas").json()["results"] == []


def test_malformed_json_is_400(api: Api) -> None:
    response = api("POST", "/crm-object-schemas/2026-09/schemas", data=b"{not json")
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert response.json()["message"].startswith("Invalid input JSON on line 1, column 2:")


def test_wrong_body_shapes_are_400_never_500(api: Api, schema: dict[str, Any]) -> None:
    base = "/crm/objects/2026-09/xero_invoice"
    targets = [
        ("POST", "/crm-object-schemas/2026-09/schemas"),
        ("POST", "/crm/properties/2026-09/xero_invoice"),
        ("PATCH", "/crm/properties/2026-09/xero_invoice/status"),
        ("POST", "/crm/properties/2026-09/xero_invoice/groups"),
        ("POST", base),
        ("POST", f"{base}/search"),
        *[
            ("POST", f"{base}/batch/{verb}")
            for verb in ("create", "update", "upsert", "read", "archive")
        ],
    ]
    for body in ([], "text", 3, {"inputs": [1]}, {"inputs": "x"}, {"properties": []}):
        for method, path in targets:
            if isinstance(body, dict) and (method == "PATCH" or path.endswith("/search")):
                continue  # unknown fields of a property update or a search are ignored
            response = api(method, path, json=body)
            assert response.status_code == 400, (method, path, body, response.text)
            assert response.json()["category"] == "VALIDATION_ERROR"
