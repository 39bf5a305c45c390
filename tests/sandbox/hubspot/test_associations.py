"""The emulator's association API: definitions, batch create/archive/read, strictness, limits."""

from __future__ import annotations

from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice

ROOT = "/crm/associations/2026-09"


def _setup(api: Api, schema: dict, hubspot_sandbox) -> tuple[str, int, list[str], str]:
    type_id = schema["objectTypeId"]
    response = api.post(
        f"/crm-object-schemas/2026-09/schemas/{type_id}/associations",
        {"fromObjectTypeId": type_id, "toObjectTypeId": "0-2"},
    )
    assert response.status_code == 201, response.text
    again = api.post(
        f"/crm-object-schemas/2026-09/schemas/{type_id}/associations",
        {"fromObjectTypeId": type_id, "toObjectTypeId": "0-2"},
    )
    assert again.status_code == 409
    labels = api.get(f"{ROOT}/{type_id}/companies/labels").json()["results"]
    (spec,) = [s for s in labels if s["category"] == "USER_DEFINED"]
    assert api.upsert([invoice(1), invoice(2)]).status_code == 200
    records = [r["id"] for r in hubspot_sandbox.emulator.records(OBJECT)]
    (company,) = hubspot_sandbox.emulator.seed("companies", [{"name": "Acme"}])
    return type_id, spec["typeId"], records, company


def _input(record: str, company: str, type_id: int) -> dict:
    return {
        "from": {"id": record},
        "to": {"id": company},
        "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}],
    }


def test_create_read_archive_both_directions(api, schema, hubspot_sandbox):
    type_id, assoc, records, company = _setup(api, schema, hubspot_sandbox)
    created = api.post(
        f"{ROOT}/{type_id}/companies/batch/create",
        {"inputs": [_input(r, company, assoc) for r in records]},
    )
    assert created.status_code == 200, created.text
    assert {r["fromObjectId"] for r in created.json()["results"]} == set(records)
    # idempotent: the same association again changes nothing
    assert (
        api.post(
            f"{ROOT}/{type_id}/companies/batch/create",
            {"inputs": [_input(records[0], company, assoc)]},
        ).status_code
        == 200
    )
    read = api.post(f"{ROOT}/companies/{type_id}/batch/read", {"inputs": [{"id": company}]}).json()
    assert {t["toObjectId"] for t in read["results"][0]["to"]} == set(records)
    archived = api.post(
        f"{ROOT}/{type_id}/companies/batch/archive",
        {"inputs": [{"from": {"id": records[0]}, "to": [{"id": company}]}]},
    )
    assert archived.status_code == 200
    assert hubspot_sandbox.emulator.associated(OBJECT, records[0], "companies") == set()
    assert hubspot_sandbox.emulator.associated(OBJECT, records[1], "companies") == {company}
    # a record without associations is reported, not silently empty
    none = api.post(
        f"{ROOT}/{type_id}/companies/batch/read", {"inputs": [{"id": records[0]}]}
    ).json()
    assert none["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"


def test_strict_unknown_ids_undefined_types_duplicates_and_limits(api, schema, hubspot_sandbox):
    type_id, assoc, records, company = _setup(api, schema, hubspot_sandbox)
    path = f"{ROOT}/{type_id}/companies/batch/create"
    unknown = api.post(
        path, {"inputs": [_input(records[0], "999", assoc), _input(records[1], company, assoc)]}
    )
    assert unknown.status_code == 207 and unknown.json()["numErrors"] == 1
    assert api.post(path, {"inputs": [_input(records[0], company, assoc + 100)]}).status_code == 400
    assert api.post(path, {"inputs": [_input(records[0], company, assoc)] * 2}).status_code == 400
    too_many = [{"id": str(n)} for n in range(1001)]
    assert (
        api.post(f"{ROOT}/{type_id}/companies/batch/read", {"inputs": too_many}).status_code == 400
    )
    hubspot_sandbox.emulator.store.associations.max_per_record = 1
    (other,) = hubspot_sandbox.emulator.seed("companies", [{"name": "Other"}])
    limited = api.post(path, {"inputs": [_input(records[1], other, assoc)]})
    assert limited.status_code == 207
    assert "TOO_MANY" in limited.json()["errors"][0]["subCategory"]


def test_a_schema_created_with_associated_objects_lists_its_definitions(api):
    from tests.sandbox.hubspot.conftest import invoice_schema

    body = {**invoice_schema(), "associatedObjects": ["COMPANY", "CONTACT"]}
    created = api.post("/crm-object-schemas/2026-09/schemas", body).json()
    assert {d["toObjectTypeId"] for d in created["associations"]} == {"0-1", "0-2"}
    labels = api.get(f"{ROOT}/{created['objectTypeId']}/contacts/labels").json()["results"]
    assert [s["category"] for s in labels] == ["USER_DEFINED"]


def test_companies_and_contacts_are_served_and_not_listed_as_schemas(api):
    made = api.post(
        "/crm/objects/2026-09/companies/batch/create",
        {"inputs": [{"properties": {"name": "Acme", "domain": "acme.example"}}]},
    )
    assert made.status_code == 201, made.text
    found = api.post(
        "/crm/objects/2026-09/companies/search",
        {
            "filterGroups": [
                {"filters": [{"propertyName": "domain", "operator": "EQ", "value": "acme.example"}]}
            ]
        },
    )
    assert found.json()["total"] == 1
    assert api.get("/crm-object-schemas/2026-09/schemas").json()["results"] == []
    assert (
        api.post(
            "/crm/objects/2026-09/contacts/batch/create",
            {"inputs": [{"properties": {"nope": "x"}}]},
        ).status_code
        == 400
    )
