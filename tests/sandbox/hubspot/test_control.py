"""The Python interface and the ``/_sandbox/`` routes: records, hand edits, rejections, tokens,
save/load and reset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.clock import ManualClock
from sandbox.hubspot import HubSpotEmulator, HubSpotLimits
from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice


def test_records_returns_everything_stored(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox
) -> None:
    written = {
        r["properties"]["xero_invoice_id"]: r["id"]
        for r in api.upsert([invoice(1), invoice(2)]).json()["results"]
    }
    ids = [written["inv-000001"], written["inv-000002"]]
    api("DELETE", f"/crm/objects/2026-09/{OBJECT}/{ids[1]}")
    emulator = hubspot_sandbox.emulator
    for key in (OBJECT, schema["objectTypeId"], schema["fullyQualifiedName"]):
        records = emulator.records(key)
        assert [(r["id"], r["archived"]) for r in records] == [(ids[0], False), (ids[1], True)]
    first = emulator.records(OBJECT)[0]
    assert first["properties"]["xero_invoice_id"] == "inv-000001"
    assert first["properties"]["hs_object_id"] == ids[0]
    assert set(first) >= {"id", "properties", "createdAt", "updatedAt", "archived"}
    over_http = requests.get(f"{hubspot_sandbox.url}/_sandbox/records/{OBJECT}").json()
    assert [r["id"] for r in over_http["results"]] == ids
    assert requests.get(f"{hubspot_sandbox.url}/_sandbox/records/nothing").status_code == 404


def test_hand_edit_bumps_last_modified(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox
) -> None:
    clock = ManualClock()
    hubspot_sandbox.emulator.set_clock(clock)
    record = api.upsert([invoice(1)]).json()["results"][0]
    clock.advance(minutes=5)
    edited = hubspot_sandbox.emulator.edit_by_hand(OBJECT, record["id"], {"total": "999"})
    assert edited["properties"]["total"] == "999"
    assert edited["updatedAt"] > record["updatedAt"]
    clock.advance(minutes=5)
    over_http = requests.patch(
        f"{hubspot_sandbox.url}/_sandbox/records/{OBJECT}/{record['id']}",
        json={"properties": {"status": "VOIDED"}},
    )
    assert over_http.status_code == 200
    got = api.get(
        f"/crm/objects/2026-09/{OBJECT}/{record['id']}", params={"properties": "total,status"}
    ).json()
    assert got["properties"]["total"] == "999" and got["properties"]["status"] == "VOIDED"
    assert got["updatedAt"] == over_http.json()["updatedAt"]
    bad = requests.patch(
        f"{hubspot_sandbox.url}/_sandbox/records/{OBJECT}/{record['id']}",
        json={"properties": {"status": "nope"}},
    )
    assert bad.status_code == 400
    assert (
        requests.patch(
            f"{hubspot_sandbox.url}/_sandbox/records/{OBJECT}/1", json={"status": "PAID"}
        ).status_code
        == 404
    )


def test_reject_over_http(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox
) -> None:
    url = hubspot_sandbox.url
    requests.post(
        f"{url}/_sandbox/reject", json={"property": "xero_invoice_id", "value": "inv-000002"}
    )
    answer = api.upsert([invoice(1), invoice(2)])
    assert answer.status_code == 207 and answer.json()["errors"][0]["context"]["id"] == [
        "inv-000002"
    ]
    requests.delete(f"{url}/_sandbox/reject")
    assert api.upsert([invoice(2)]).status_code == 200


def test_tokens_over_http(hubspot_sandbox: HubSpotSandbox) -> None:
    url = hubspot_sandbox.url
    requests.post(f"{url}/_sandbox/tokens", json={"token": "pat-other", "scopes": []})
    denied = requests.get(
        f"{url}/crm-object-schemas/2026-09/schemas", headers={"Authorization": "Bearer pat-other"}
    )
    assert denied.status_code == 403


def test_save_and_load_between_runs(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox, tmp_path: Path
) -> None:
    api.upsert([invoice(1), invoice(2, reference="R")])
    hubspot_sandbox.emulator.reject_value("status", "DELETED")
    path = tmp_path / "state" / "hubspot.json"
    saved = requests.post(f"{hubspot_sandbox.url}/_sandbox/save", json={"path": str(path)})
    assert saved.status_code == 200 and path.is_file()

    loaded = HubSpotEmulator.load(path, limits=HubSpotLimits.unlimited())
    assert loaded.records(OBJECT) == hubspot_sandbox.emulator.records(OBJECT)
    assert loaded.limits == HubSpotLimits.unlimited()
    # ids keep counting, unique indexes and rejections survive
    store = loaded.store
    object_type = store.resolve(OBJECT)
    assert object_type.find_unique("xero_invoice_id", "inv-000002") is not None
    new_ids = loaded.seed(OBJECT, [invoice(3)])
    assert int(new_ids[0]) > max(int(r["id"]) for r in loaded.records(OBJECT)[:2])
    with pytest.raises(Exception, match="INVALID_VALUE"):
        loaded.seed(OBJECT, [invoice(4, status="DELETED")])

    hubspot_sandbox.emulator.reset()
    assert api.get("/crm-object-schemas/2026-09/schemas").json()["results"] == []
    requests.post(f"{hubspot_sandbox.url}/_sandbox/load", json={"path": str(path)})
    assert len(api.get(f"/crm/objects/2026-09/{OBJECT}").json()["results"]) == 2


def test_reset_over_http(api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox) -> None:
    api.upsert([invoice(1)])
    hubspot_sandbox.emulator.faults.latency_seconds = 0.01
    assert requests.post(f"{hubspot_sandbox.url}/_sandbox/reset").json() == {"reset": True}
    assert api.get("/crm-object-schemas/2026-09/schemas").json()["results"] == []
    assert hubspot_sandbox.emulator.faults.latency_seconds == 0
    assert hubspot_sandbox.emulator.counters.total() == 1


def test_reset_returns_to_the_constructor_limits_and_clock() -> None:
    clock = ManualClock()
    emulator = HubSpotEmulator(limits=HubSpotLimits.unlimited(), clock=clock)
    emulator.limits = HubSpotLimits(requests_per_window=1)
    emulator.set_clock(None)
    emulator.reset()
    assert emulator.limits == HubSpotLimits.unlimited()
    assert emulator.now() == clock()


def test_create_schema_and_seed_from_python(hubspot_sandbox: HubSpotSandbox, api: Api) -> None:
    from tests.sandbox.hubspot.conftest import invoice_schema

    schema = hubspot_sandbox.emulator.create_schema(invoice_schema())
    ids = hubspot_sandbox.emulator.seed(schema["objectTypeId"], [invoice(1), invoice(2)])
    listed = api.get(f"/crm/objects/2026-09/{OBJECT}").json()["results"]
    assert [r["id"] for r in listed] == ids
    with pytest.raises(Exception, match="already exists"):
        hubspot_sandbox.emulator.create_schema(invoice_schema())


def test_hand_edit_always_moves_last_modified(
    api: Api, schema: dict[str, Any], hubspot_sandbox: HubSpotSandbox
) -> None:
    hubspot_sandbox.manual_clock()  # time stands still
    record = api.upsert([invoice(1)]).json()["results"][0]
    edited = hubspot_sandbox.emulator.edit_by_hand(OBJECT, record["id"], {"total": "1.5"})
    assert edited["updatedAt"] > record["updatedAt"]
