"""Batch endpoints: 200/201, 207 partial failures, whole-batch 400s, read, archive, single ops."""

from __future__ import annotations

from typing import Any

from sandbox.clock import ManualClock
from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice

BASE = f"/crm/objects/2026-09/{OBJECT}"


def test_batch_create_is_201_and_207_when_an_input_conflicts(api: Api, schema: Any) -> None:
    ok = api.post(f"{BASE}/batch/create", {"inputs": [{"properties": invoice(1)}]})
    assert ok.status_code == 201
    body = ok.json()
    assert body["status"] == "COMPLETE" and "errors" not in body
    assert body["startedAt"].endswith("Z") and body["completedAt"].endswith("Z")

    mixed = api.post(
        f"{BASE}/batch/create",
        {
            "inputs": [
                {"properties": invoice(2), "objectWriteTraceId": "t2"},
                {"properties": invoice(1), "objectWriteTraceId": "t1-again"},
            ]
        },
    )
    assert mixed.status_code == 207
    body = mixed.json()
    assert body["numErrors"] == 1
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["t2"]
    (conflict,) = body["errors"]
    assert conflict["category"] == "CONFLICT"
    assert conflict["context"] == {"objectWriteTraceId": ["t1-again"]}
    assert set(conflict) >= {"status", "category", "message", "context", "errors", "links"}


def test_batch_create_and_update_refuse_the_whole_batch_for_an_invalid_value(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    invalid = api.post(
        f"{BASE}/batch/create",
        {"inputs": [{"properties": invoice(5)}, {"properties": invoice(6, status="LOST")}]},
    )
    assert invalid.status_code == 400
    assert invalid.json()["category"] == "VALIDATION_ERROR"
    assert "INVALID_OPTION" in invalid.json()["message"]
    assert hubspot_sandbox.emulator.records(OBJECT) == []  # the valid input was not created

    ids = _ids_in_input_order(api.upsert([invoice(1), invoice(2)]), ["inv-000001", "inv-000002"])
    update = api.post(
        f"{BASE}/batch/update",
        {
            "inputs": [
                {"id": ids[0], "properties": {"total": "5"}},
                {"id": ids[1], "properties": {"due_date": "2026-02-30"}},
            ]
        },
    )
    assert update.status_code == 400
    assert "INVALID_DATE" in update.json()["message"]
    totals = {r["properties"].get("total") for r in hubspot_sandbox.emulator.records(OBJECT)}
    assert "5" not in totals


def test_upsert_creates_then_updates_and_reports_new(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    created = {
        r["properties"]["xero_invoice_id"]: r
        for r in api.upsert([invoice(1), invoice(2)]).json()["results"]
    }
    assert {key: r["new"] for key, r in created.items()} == {
        "inv-000001": True,
        "inv-000002": True,
    }
    updated = {
        r["properties"]["xero_invoice_id"]: r
        for r in api.upsert([invoice(1, status="PAID"), invoice(3)]).json()["results"]
    }
    assert updated["inv-000001"]["id"] == created["inv-000001"]["id"]
    assert (updated["inv-000001"]["new"], updated["inv-000003"]["new"]) == (False, True)
    stored = {
        r["properties"]["xero_invoice_id"]: r for r in hubspot_sandbox.emulator.records(OBJECT)
    }
    assert len(stored) == 3 and stored["inv-000001"]["properties"]["status"] == "PAID"


def test_upsert_partial_failure_names_the_rejected_input(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    hubspot_sandbox.emulator.reject_value(
        "contact_name", "Blocked Ltd", message="Blocked by a rule"
    )
    response = api.upsert(
        [invoice(1), invoice(2, contact_name="Blocked Ltd"), invoice(3, due_date="2026-02-30")]
    )
    assert response.status_code == 207
    body = response.json()
    assert body["numErrors"] == 2
    assert [e["context"]["id"] for e in body["errors"]] == [["inv-000002"], ["inv-000003"]]
    assert "Blocked by a rule" in body["errors"][0]["message"]
    assert "INVALID_DATE" in body["errors"][1]["message"]
    assert [r["properties"]["xero_invoice_id"] for r in body["results"]] == ["inv-000001"]
    assert len(hubspot_sandbox.emulator.records(OBJECT)) == 1


def test_over_100_inputs_is_400(api: Api, schema: Any) -> None:
    response = api.upsert([invoice(n) for n in range(101)])
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert "101" in response.json()["message"]
    assert api.upsert([invoice(n) for n in range(100)]).status_code == 200


def test_same_id_twice_in_one_batch_is_400(api: Api, schema: Any) -> None:
    response = api.upsert([invoice(1), invoice(2), invoice(1, status="PAID")])
    assert response.status_code == 400
    assert response.json()["message"].startswith("Duplicate IDs found in batch input: [inv-000001]")
    records = api.upsert([invoice(1)]).json()["results"]
    dup_update = api.post(
        f"{BASE}/batch/update",
        {"inputs": [{"id": records[0]["id"], "properties": {}}] * 2},
    )
    assert dup_update.status_code == 400


def test_upsert_by_a_non_unique_property_is_400(api: Api, schema: Any) -> None:
    response = api.post(
        f"{BASE}/batch/upsert",
        {"inputs": [{"idProperty": "invoice_number", "id": "INV-1", "properties": {}}]},
    )
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("Unable to perform update/upsert by non-unique 2-")
    assert "invoice_number in portal ID 12345678" in message


def test_batch_update_by_id_and_by_id_property(api: Api, schema: Any) -> None:
    ids = _ids_in_input_order(api.upsert([invoice(1), invoice(2)]), ["inv-000001", "inv-000002"])
    response = api.post(
        f"{BASE}/batch/update",
        {
            "inputs": [
                {"id": ids[0], "properties": {"status": "PAID"}},
                {"id": "inv-000002", "idProperty": "xero_invoice_id", "properties": {"total": "9"}},
                {"id": "999", "properties": {"status": "PAID"}},
            ]
        },
    )
    assert response.status_code == 207
    body = response.json()
    assert sorted(
        r["properties"].get("status") or r["properties"]["total"] for r in body["results"]
    ) == ["9", "PAID"]
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"id": ["999"]}


def test_batch_read_reports_missing_ids_in_one_error(api: Api, schema: Any) -> None:
    ids = [r["id"] for r in api.upsert([invoice(1)]).json()["results"]]
    response = api.post(
        f"{BASE}/batch/read",
        {"inputs": [{"id": ids[0]}, {"id": "1"}, {"id": "2"}], "properties": ["total"]},
    )
    assert response.status_code == 207
    body = response.json()
    assert body["results"][0]["properties"] == {"total": "1.5"}
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": ["1", "2"]}
    fine = api.post(
        f"{BASE}/batch/read",
        {"idProperty": "xero_invoice_id", "inputs": [{"id": "inv-000001"}], "properties": []},
    )
    assert fine.status_code == 200
    assert set(fine.json()["results"][0]["properties"]) == {
        "hs_createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }


def test_archive_hides_records_unless_archived_is_asked(api: Api, schema: Any) -> None:
    results = api.upsert([invoice(1), invoice(2)]).json()["results"]  # in any order
    by_key = {r["properties"]["xero_invoice_id"]: r["id"] for r in results}
    ids = [by_key["inv-000001"], by_key["inv-000002"]]
    assert api.post(f"{BASE}/batch/archive", {"inputs": [{"id": ids[0]}]}).status_code == 204
    assert api.get(f"{BASE}/{ids[0]}").status_code == 404
    assert [r["id"] for r in api.get(BASE).json()["results"]] == [ids[1]]
    archived = api.get(BASE, params={"archived": "true"}).json()["results"]
    assert [(r["id"], r["archived"]) for r in archived] == [(ids[0], True)]
    assert archived[0]["archivedAt"].endswith("Z")
    # upserting the same key again creates a new record, as in HubSpot
    again = api.upsert([invoice(1)]).json()["results"][0]
    assert again["new"] is True and again["id"] not in ids


def test_single_record_routes(api: Api, schema: Any) -> None:
    created = api.post(BASE, {"properties": invoice(1)})
    assert created.status_code == 201
    record = created.json()
    assert record["properties"]["hs_object_id"] == record["id"]
    by_key = api.get(f"{BASE}/inv-000001", params={"idProperty": "xero_invoice_id"})
    assert by_key.json()["id"] == record["id"]
    default = api.get(f"{BASE}/{record['id']}").json()
    assert set(default["properties"]) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
    patched = api.patch(
        f"{BASE}/inv-000001",
        {"properties": {"status": "PAID"}},
        params={"idProperty": "xero_invoice_id"},
    )
    assert patched.json()["properties"]["status"] == "PAID"
    missing = api.get(f"{BASE}/123")
    assert missing.status_code == 404
    assert missing.json()["category"] == "OBJECT_NOT_FOUND"
    non_unique = api.get(f"{BASE}/INV-000001", params={"idProperty": "invoice_number"})
    assert non_unique.status_code == 400


def test_list_pages_with_after_and_properties(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    hubspot_sandbox.emulator.seed(OBJECT, [invoice(n) for n in range(250)])
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 100, "properties": "xero_invoice_id,total"}
    pages = 0
    while True:
        body = api.get(BASE, params=params).json()
        pages += 1
        seen += [r["properties"]["xero_invoice_id"] for r in body["results"]]
        assert set(body["results"][0]["properties"]) == {"xero_invoice_id", "total"}
        if "paging" not in body:
            break
        params["after"] = body["paging"]["next"]["after"]
        assert "after=" in body["paging"]["next"]["link"]
    assert pages == 3 and seen == [f"inv-{n:06d}" for n in range(250)]
    assert api.get(BASE, params={"limit": 101}).status_code == 400


def test_write_without_change_keeps_last_modified(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    clock = ManualClock()
    hubspot_sandbox.emulator.set_clock(clock)
    first = api.upsert([invoice(1)]).json()["results"][0]
    clock.advance(seconds=60)
    same = api.upsert([invoice(1)]).json()["results"][0]
    assert same["updatedAt"] == first["updatedAt"]
    clock.advance(seconds=60)
    changed = api.upsert([invoice(1, status="PAID")]).json()["results"][0]
    assert changed["updatedAt"] > first["updatedAt"]
    assert changed["properties"]["hs_lastmodifieddate"] == changed["updatedAt"]
    assert changed["createdAt"] == first["createdAt"]


def test_unknown_requested_properties_are_ignored(api: Api, schema: Any) -> None:
    record_id = api.upsert([invoice(1)]).json()["results"][0]["id"]
    got = api.get(f"{BASE}/{record_id}", params={"properties": "total,not_a_property"}).json()
    assert got["properties"] == {"total": "1.5"}
    read = api.post(
        f"{BASE}/batch/read", {"inputs": [{"id": record_id}], "properties": ["nope", "status"]}
    ).json()
    assert read["results"][0]["properties"] == {"status": "AUTHORISED"}


def _ids_in_input_order(response: Any, keys: list[str]) -> list[str]:
    """HubSpot (and the emulator) answer batch inputs in any order: map results back by key."""
    by_key = {r["properties"]["xero_invoice_id"]: r["id"] for r in response.json()["results"]}
    return [by_key[key] for key in keys]
