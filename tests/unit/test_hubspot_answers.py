"""What HubSpot's answers mean: required-property refusals, trace-id mapping, credential kinds."""

from __future__ import annotations

import json

from reverse_etl.hubspot.answers import (
    BatchError,
    required_properties,
    required_property_fix,
    restore_key,
    unauthorized_message,
)


def _problems(*names: str) -> str:
    listed = [
        {"isValid": False, "message": f"{n} is required.", "error": "REQUIRED_PROPERTY", "name": n}
        for n in names
    ]
    return "Property values were not valid: " + json.dumps(listed)


def test_required_properties_read_from_errors_or_the_message() -> None:
    detailed = {
        "category": "VALIDATION_ERROR",
        "message": "...",
        "errors": [
            {"message": "x", "code": "REQUIRED_PROPERTY", "context": {"propertyName": ["due_date"]}}
        ],
    }
    assert required_properties(detailed) == ["due_date"]
    assert required_properties(
        {"category": "VALIDATION_ERROR", "message": _problems("a", "b")}
    ) == [
        "a",
        "b",
    ]
    invalid_option = {
        "category": "VALIDATION_ERROR",
        "message": 'Property values were not valid: [{"error":"INVALID_OPTION","name":"status"}]',
    }
    assert required_properties(invalid_option) == []
    assert required_property_fix(invalid_option, "xero_invoice") is None


def test_a_207_required_property_error_names_the_property_and_the_fix() -> None:
    item = {"status": "error", "category": "VALIDATION_ERROR", "message": _problems("reference")}
    error = BatchError.from_api(item, "xero_invoice")
    assert error.message.startswith("HubSpot requires property reference on xero_invoice")
    assert "make reference optional in HubSpot" in error.message and "map a value" in error.message
    assert BatchError.from_api(item).message == item["message"]


def test_restore_key_fills_the_id_property_from_the_trace_id() -> None:
    inputs = {"t-1": {"idProperty": "xero_invoice_id", "id": "abc", "objectWriteTraceId": "t-1"}}
    restored = restore_key({"id": "9", "properties": {}, "objectWriteTraceId": "t-1"}, inputs)
    assert restored["properties"] == {"xero_invoice_id": "abc"}
    echoed = {"id": "9", "properties": {"xero_invoice_id": "abc"}}
    assert restore_key(echoed, inputs) == echoed


def test_unauthorized_names_the_kind_of_credential() -> None:
    assert "private app token" in unauthorized_message("pat-na1-x")
    assert "Service Key" in unauthorized_message("anything-else")
