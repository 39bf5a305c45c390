"""`invoice-sync setup` against the emulator: create, idempotent rerun, repair, conflicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from reverse_etl.core.errors import HubSpotSchemaError
from reverse_etl.core.settings import Settings
from reverse_etl.hubspot.properties import INVOICE_PROPERTIES, PROPERTIES_BY_NAME
from reverse_etl.push.schema import ensure_schema, remembered_object_type_id, schema_body
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import make_client

OBJECT = "xero_invoice"


def _writes(sandbox: HubSpotSandbox) -> int:
    counts = sandbox.emulator.counters.snapshot()["by_route"]
    return sum(n for route, n in counts.items() if not route.startswith("GET "))


def test_setup_creates_the_object_with_every_property_typed(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    report = ensure_schema(settings, client=make_client(settings))

    assert report.created_object and report.object_type_id.startswith("2-")
    assert remembered_object_type_id(settings) == report.object_type_id
    schemas = hubspot_sandbox.emulator.store
    with hubspot_sandbox.emulator.lock:
        object_type = schemas.resolve(report.object_type_id)
        props = dict(object_type.properties)
        assert object_type.name == OBJECT
    for spec in INVOICE_PROPERTIES:
        prop = props[spec.name]
        assert (prop.type, prop.field_type) == (spec.type, spec.field_type), spec.name
        assert prop.has_unique_value == spec.unique
        assert prop.option_values >= set(spec.options)
    assert props["xero_invoice_id"].has_unique_value
    assert "Created the HubSpot custom object" in report.summary()


def test_second_setup_changes_nothing(hubspot_sandbox: HubSpotSandbox, settings: Settings) -> None:
    ensure_schema(settings, client=make_client(settings))
    hubspot_sandbox.emulator.counters.reset()

    report = ensure_schema(settings, client=make_client(settings))

    assert not report.changed
    assert _writes(hubspot_sandbox) == 0
    # list schemas and properties; companies and contacts: groups and properties
    assert report.hubspot_calls == 6
    assert "Nothing to change" in report.summary()


def test_a_missing_property_is_added(
    hubspot_sandbox: HubSpotSandbox, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = schema_body(OBJECT)
    body["properties"] = [p for p in body["properties"] if p["name"] != "amount_credited"]
    client = make_client(settings)
    client.create_schema(body)

    report = ensure_schema(settings, client=client)

    assert not report.created_object
    assert report.added_properties == ["amount_credited"]
    with hubspot_sandbox.emulator.lock:
        prop = hubspot_sandbox.emulator.store.resolve(OBJECT).properties["amount_credited"]
    assert (prop.type, prop.field_type) == ("number", "number")


def test_a_conflicting_property_type_is_reported_with_the_fix_and_left_alone(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    body = schema_body(OBJECT)
    for prop in body["properties"]:
        if prop["name"] == "total":
            prop.update(type="string", fieldType="text")
    client = make_client(settings)
    client.create_schema(body)

    with pytest.raises(HubSpotSchemaError) as caught:
        ensure_schema(settings, client=client)

    message = str(caught.value)
    assert "total is string/text in HubSpot but must be number/number" in message
    assert "archive it" in message and "invoice-sync setup" in message
    with hubspot_sandbox.emulator.lock:
        prop = hubspot_sandbox.emulator.store.resolve(OBJECT).properties["total"]
    assert (prop.type, prop.field_type) == ("string", "text")  # not changed
    assert PROPERTIES_BY_NAME["total"].type == "number"


def test_missing_enumeration_options_are_added(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    body = schema_body(OBJECT)
    for prop in body["properties"]:
        if prop["name"] == "status":
            prop["options"] = [o for o in prop["options"] if o["value"] != "VOIDED"]
    client = make_client(settings)
    client.create_schema(body)

    report = ensure_schema(settings, client=client)

    assert report.added_options == {"status": ["VOIDED"]}
    with hubspot_sandbox.emulator.lock:
        prop = hubspot_sandbox.emulator.store.resolve(OBJECT).properties["status"]
    assert "VOIDED" in prop.option_values


def test_state_lives_under_the_state_dir(settings: Settings, tmp_path: Path) -> None:
    ensure_schema(settings, client=make_client(settings))
    assert (settings.state_dir / "hubspot_schema.json").is_file()


def test_setup_without_the_schema_scope_names_it(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    from dataclasses import replace

    from reverse_etl.core.errors import HubSpotAuthError

    hubspot_sandbox.emulator.add_token("pat-objects-only", ["crm.schemas.custom.read"])
    limited = replace(settings, hubspot=replace(settings.hubspot, access_token="pat-objects-only"))

    with pytest.raises(HubSpotAuthError, match=r"crm\.schemas\.custom\.write"):
        ensure_schema(limited, client=make_client(limited))


def test_another_object_name_gets_its_own_property_group(
    hubspot_sandbox: HubSpotSandbox, tmp_path: Path
) -> None:
    from tests.push.conftest import make_settings

    settings = make_settings(hubspot_sandbox, tmp_path, HUBSPOT_OBJECT_NAME="acme_invoice")

    report = ensure_schema(settings, client=make_client(settings))

    assert report.created_object
    with hubspot_sandbox.emulator.lock:
        props = hubspot_sandbox.emulator.store.resolve("acme_invoice").properties
    assert props["total"].group_name == "acme_invoice_information"


def test_setup_defines_associations_for_an_object_made_before_them(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    old = {**schema_body(OBJECT), "associatedObjects": []}
    hubspot_sandbox.emulator.create_schema(old)

    report = ensure_schema(settings, client=make_client(settings))

    assert "association with companies" in report.added_customer_schema
    assert "association with contacts" in report.added_customer_schema
    assert "companies.xero_amount_overdue" in report.added_customer_schema
    with hubspot_sandbox.emulator.lock:
        defs = hubspot_sandbox.emulator.store.resolve(OBJECT).association_defs
        company_props = hubspot_sandbox.emulator.store.resolve("companies").properties
    assert {d["toObjectTypeId"] for d in defs} == {"0-1", "0-2"}
    assert company_props["xero_last_payment_date"].type == "date"
    assert company_props["xero_contact_id"].group_name == "xero"
    again = ensure_schema(settings, client=make_client(settings))
    assert again.added_customer_schema == [] and not again.changed
