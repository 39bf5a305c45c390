"""Merges as HubSpot makes them (changelog "Updated merge functionality for contacts and
companies"): a new record, both originals archived, reads of an old id answer the new record
with ``hs_merged_object_ids``, writes to an old id refused, associations moved."""

from __future__ import annotations

from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice

COMPANIES = "/crm/objects/2026-09/companies"


def test_a_merge_makes_a_new_record_that_reads_of_the_old_ids_return(
    api: Api, hubspot_sandbox, schema
) -> None:
    emu = hubspot_sandbox.emulator
    first, second = emu.seed(
        "companies", [{"name": "Acme"}, {"name": "ACME Ltd", "domain": "acme.test"}]
    )
    api.upsert([invoice(1)]).raise_for_status()
    (record,) = emu.records(OBJECT)
    emu.store.associations.define(schema["objectTypeId"], "0-2")
    emu.associate_by_hand(OBJECT, record["id"], "companies", second)

    survivor = emu.merge_by_hand("companies", first, second)

    assert survivor not in (first, second)
    for old in (first, second):
        read = api.get(
            f"{COMPANIES}/{old}", params={"properties": "name,domain,hs_merged_object_ids"}
        )
        assert read.status_code == 200, read.text
        body = read.json()
        assert body["id"] == survivor
        assert body["properties"]["name"] == "Acme", "the primary's values win"
        assert body["properties"]["domain"] == "acme.test", "the secondary fills the gaps"
        assert set(body["properties"]["hs_merged_object_ids"].split(";")) == {first, second}
    batch = api.post(f"{COMPANIES}/batch/read", {"inputs": [{"id": first}], "properties": ["name"]})
    assert [r["id"] for r in batch.json()["results"]] == [survivor]

    update = api.post(
        f"{COMPANIES}/batch/update", {"inputs": [{"id": first, "properties": {"name": "x"}}]}
    )
    assert update.status_code == 207 or update.status_code >= 400
    assert "OBJECT_NOT_FOUND" in update.text, "a write to a merged-away id is refused"

    listed = api.get(COMPANIES, params={"limit": 100}).json()["results"]
    assert [r["id"] for r in listed] == [survivor]
    assert emu.associated(OBJECT, record["id"], "companies") == {survivor}
    archived = {r["id"]: r["archived"] for r in emu.records("companies")}
    assert archived == {first: True, second: True, survivor: False}


def test_merged_ids_accumulate_over_merges(hubspot_sandbox) -> None:
    emu = hubspot_sandbox.emulator
    a, b, c = emu.seed("companies", [{"name": "A"}, {"name": "B"}, {"name": "C"}])
    ab = emu.merge_by_hand("companies", a, b)
    abc = emu.merge_by_hand("companies", c, ab)
    (record,) = [r for r in emu.records("companies") if r["id"] == abc]
    assert set(record["properties"]["hs_merged_object_ids"].split(";")) == {a, b, c, ab}
