"""The official ``hubspot-api-client`` SDK works against the emulator and parses its answers."""

from __future__ import annotations

import pytest
from hubspot import Client
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.properties import OptionInput, PropertyCreate
from hubspot.crm.schemas import (
    ObjectSchemaEgg,
    ObjectTypeDefinitionLabels,
    ObjectTypePropertyCreate,
)
from hubspot.crm.schemas.exceptions import ApiException as SchemasApiException

from tests.fixtures.hubspot import HubSpotSandbox


@pytest.fixture
def client(hubspot_sandbox: HubSpotSandbox) -> Client:
    """The SDK's generated methods call the numbered (v3) paths: serve them for these tests."""
    hubspot_sandbox.numbered()
    return Client.create(access_token=hubspot_sandbox.token, host=hubspot_sandbox.url)


def _schema_egg() -> ObjectSchemaEgg:
    return ObjectSchemaEgg(
        name="xero_invoice",
        labels=ObjectTypeDefinitionLabels(singular="Invoice", plural="Invoices"),
        primary_display_property="invoice_number",
        secondary_display_properties=[],
        searchable_properties=["invoice_number"],
        required_properties=["xero_invoice_id"],
        associated_objects=[],
        properties=[
            ObjectTypePropertyCreate(
                name="xero_invoice_id",
                label="Xero invoice ID",
                type="string",
                field_type="text",
                has_unique_value=True,
            ),
            ObjectTypePropertyCreate(
                name="invoice_number", label="Invoice number", type="string", field_type="text"
            ),
            ObjectTypePropertyCreate(
                name="total", label="Total", type="number", field_type="number"
            ),
            ObjectTypePropertyCreate(name="due_date", label="Due", type="date", field_type="date"),
        ],
    )


def _upsert(rows: list[dict[str, str]]) -> BatchInputSimplePublicObjectBatchInputUpsert:
    return BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[
            SimplePublicObjectBatchInputUpsert(
                id_property="xero_invoice_id", id=row["xero_invoice_id"], properties=row
            )
            for row in rows
        ]
    )


def test_sdk_schema_property_upsert_read_search(client: Client) -> None:
    schema = client.crm.schemas.core_api.create(object_schema_egg=_schema_egg())
    assert schema.object_type_id.startswith("2-")
    assert schema.fully_qualified_name == "p12345678_xero_invoice"
    assert {p.name for p in schema.properties} >= {"xero_invoice_id", "hs_object_id"}

    listed = client.crm.schemas.core_api.get_all()
    assert [s.name for s in listed.results] == ["xero_invoice"]
    assert client.crm.schemas.core_api.get_by_id("xero_invoice").object_type_id == (
        schema.object_type_id
    )

    status = client.crm.properties.core_api.create(
        object_type=schema.object_type_id,
        property_create=PropertyCreate(
            name="status",
            label="Status",
            type="enumeration",
            field_type="select",
            group_name="xero_invoice_information",
            options=[
                OptionInput(label="Paid", value="PAID", display_order=0, hidden=False),
                OptionInput(label="Open", value="AUTHORISED", display_order=1, hidden=False),
            ],
        ),
    )
    assert status.name == "status" and [o.value for o in status.options] == ["PAID", "AUTHORISED"]

    batch_api = client.crm.objects.batch_api
    rows = [
        {
            "xero_invoice_id": f"inv-{n}",
            "invoice_number": f"INV-{n}",
            "total": f"{n}.50",
            "due_date": "2026-01-31",
            "status": "AUTHORISED",
        }
        for n in range(1, 4)
    ]
    result = batch_api.upsert(
        object_type="xero_invoice",
        batch_input_simple_public_object_batch_input_upsert=_upsert(rows),
    )
    assert result.status == "COMPLETE"
    assert [r.new for r in result.results] == [True, True, True]
    first = next(r for r in result.results if r.properties["xero_invoice_id"] == "inv-1")
    assert first.properties["total"] == "1.5"  # results come back in any order, as in HubSpot
    assert first.created_at.tzinfo is not None

    read = batch_api.read(
        object_type=schema.fully_qualified_name,
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            id_property="xero_invoice_id",
            inputs=[SimplePublicObjectId(id="inv-2")],
            properties=["invoice_number", "due_date"],
            properties_with_history=[],
        ),
    )
    assert read.results[0].properties["invoice_number"] == "INV-2"
    assert read.results[0].properties["due_date"] == "2026-01-31"

    found = client.crm.objects.search_api.do_search(
        object_type="xero_invoice",
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(filters=[Filter(property_name="total", operator="GT", value="1.5")])
            ],
            sorts=[{"propertyName": "total", "direction": "DESCENDING"}],
            properties=["invoice_number"],
            limit=1,
            after="0",
        ),
    )
    assert found.total == 2
    assert found.results[0].properties["invoice_number"] == "INV-3"
    assert found.paging.next.after == "1"


def test_sdk_parses_a_207_partial_failure(client: Client) -> None:
    client.crm.schemas.core_api.create(object_schema_egg=_schema_egg())
    rows = [
        {"xero_invoice_id": "good", "due_date": "2026-01-31"},
        {"xero_invoice_id": "bad", "due_date": "2026-01-31T10:00:00Z"},
    ]
    result = client.crm.objects.batch_api.upsert(
        object_type="xero_invoice",
        batch_input_simple_public_object_batch_input_upsert=_upsert(rows),
    )
    assert result.num_errors == 1
    assert [r.properties["xero_invoice_id"] for r in result.results] == ["good"]
    error = result.errors[0]
    assert error.category == "VALIDATION_ERROR"
    assert error.context == {"id": ["bad"]}
    assert "INVALID_DATE" in error.message and "not midnight" in error.message
    assert error.errors[0].code == "INVALID_DATE"


def test_sdk_raises_on_conflict_and_bad_token(
    client: Client, hubspot_sandbox: HubSpotSandbox
) -> None:
    client.crm.schemas.core_api.create(object_schema_egg=_schema_egg())
    with pytest.raises(SchemasApiException) as conflict:
        client.crm.schemas.core_api.create(object_schema_egg=_schema_egg())
    assert conflict.value.status == 409

    stranger = Client.create(access_token="pat-na1-wrong", host=hubspot_sandbox.url)
    with pytest.raises(ObjectsApiException) as denied:
        stranger.crm.objects.basic_api.get_page(object_type="xero_invoice")
    assert denied.value.status == 401
    assert '"category": "INVALID_AUTHENTICATION"' in denied.value.body


def test_sdk_basic_batch_property_and_group_calls(client: Client) -> None:
    from hubspot.crm.objects import (
        BatchInputSimplePublicObjectBatchInput,
        BatchInputSimplePublicObjectBatchInputForCreate,
        BatchInputSimplePublicObjectId,
        SimplePublicObjectBatchInput,
        SimplePublicObjectBatchInputForCreate,
        SimplePublicObjectInput,
        SimplePublicObjectInputForCreate,
    )
    from hubspot.crm.properties import PropertyGroupCreate, PropertyUpdate

    schema = client.crm.schemas.core_api.create(object_schema_egg=_schema_egg())
    object_type = schema.object_type_id
    basic = client.crm.objects.basic_api
    batch = client.crm.objects.batch_api

    created = basic.create(
        object_type=object_type,
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"xero_invoice_id": "a", "total": "3.10"}, associations=[]
        ),
    )
    assert created.properties["total"] == "3.1"
    updated = basic.update(
        object_type=object_type,
        object_id="a",
        id_property="xero_invoice_id",
        simple_public_object_input=SimplePublicObjectInput(properties={"total": "4"}),
    )
    assert updated.id == created.id and updated.properties["total"] == "4"
    page = basic.get_page(object_type=object_type, limit=10, properties=["total"])
    assert [r.properties["total"] for r in page.results] == ["4"] and page.paging is None
    got = basic.get_by_id(object_type=object_type, object_id=created.id, properties=["total"])
    assert got.properties == {"total": "4"}

    made = batch.create(
        object_type=object_type,
        batch_input_simple_public_object_batch_input_for_create=(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(
                        properties={"xero_invoice_id": f"b{n}"}, associations=[]
                    )
                    for n in range(3)
                ]
            )
        ),
    )
    assert made.status == "COMPLETE" and len(made.results) == 3
    changed = batch.update(
        object_type=object_type,
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=made.results[0].id, properties={"total": "1"}),
                SimplePublicObjectBatchInput(id="404", properties={"total": "1"}),
            ]
        ),
    )
    assert changed.num_errors == 1 and changed.errors[0].category == "OBJECT_NOT_FOUND"
    batch.archive(
        object_type=object_type,
        batch_input_simple_public_object_id=BatchInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=r.id) for r in made.results]
        ),
    )
    basic.archive(object_type=object_type, object_id=created.id)
    assert basic.get_page(object_type=object_type).results == []
    assert len(basic.get_page(object_type=object_type, archived=True).results) == 4

    properties = client.crm.properties
    properties.groups_api.create(
        object_type=object_type,
        property_group_create=PropertyGroupCreate(name="extra", label="Extra", display_order=1),
    )
    assert [g.name for g in properties.groups_api.get_all(object_type=object_type).results] == [
        "xero_invoice_information",
        "extra",
    ]
    names = [p.name for p in properties.core_api.get_all(object_type=object_type).results]
    assert "hs_lastmodifieddate" in names and "total" in names
    due = properties.core_api.get_by_name(object_type=object_type, property_name="due_date")
    assert (due.type, due.field_type) == ("date", "date")
    renamed = properties.core_api.update(
        object_type=object_type,
        property_name="total",
        property_update=PropertyUpdate(label="Invoice total"),
    )
    assert renamed.label == "Invoice total" and renamed.type == "number"
    properties.core_api.archive(object_type=object_type, property_name="total")
    assert "total" not in [
        p.name for p in properties.core_api.get_all(object_type=object_type).results
    ]
    client.crm.schemas.core_api.archive(object_type=object_type)
    assert client.crm.schemas.core_api.get_all().results == []


def test_sdk_schema_update(client: Client) -> None:
    from hubspot.crm.schemas import ObjectTypeDefinitionPatch

    client.crm.schemas.core_api.create(object_schema_egg=_schema_egg())
    patched = client.crm.schemas.core_api.update(
        object_type="xero_invoice",
        object_type_definition_patch=ObjectTypeDefinitionPatch(
            searchable_properties=["invoice_number", "xero_invoice_id"],
            labels=ObjectTypeDefinitionLabels(singular="Xero invoice", plural="Xero invoices"),
        ),
    )
    assert patched.labels.singular == "Xero invoice"
    assert patched.searchable_properties == ["invoice_number", "xero_invoice_id"]
    assert patched.primary_display_property == "invoice_number"
    with pytest.raises(SchemasApiException) as bad:
        client.crm.schemas.core_api.update(
            object_type="xero_invoice",
            object_type_definition_patch=ObjectTypeDefinitionPatch(primary_display_property="x"),
        )
    assert bad.value.status == 400
