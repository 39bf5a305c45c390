"""The HubSpot calls of the customers work (issue 13): companies, contacts, associations and
their definitions, each a :meth:`HubSpot.request` to a path of the configured API version
(:mod:`reverse_etl.hubspot.paths`); a call group of :class:`reverse_etl.hubspot.client.HubSpot`,
which owns the transport, retries and limits and hands it over.

Shapes (HubSpot/HubSpot-public-api-spec-collection at the commit named in
:mod:`reverse_etl.hubspot.paths`, ``CRM/Associations``, ``CRM/Associations Schema``,
``CRM/Schemas``, ``CRM/Objects`` for 2026-03 / 2026-09, v4 / v3 numbered):

- ``POST /crm/associations/{V}/{from}/{to}/batch/create``: ``BatchInputPublicAssociationMultiPost``
  ``{"inputs": [{"from": {"id"}, "to": {"id"}, "types": [{"associationCategory",
  "associationTypeId"}]}]}`` → ``BatchResponseLabelsBetweenObjectPair`` (200, 207 with ``errors``);
- ``…/batch/archive``: ``{"inputs": [{"from": {"id"}, "to": [{"id"}]}]}`` → ``BatchResponseVoid``;
- ``…/batch/read``: ``{"inputs": [{"id", "after"?}]}`` (≤ 1,000) →
  ``{"results": [{"from": {"id"}, "to": [{"toObjectId", "associationTypes"}], "paging"?}]}``;
- ``GET …/{from}/{to}/labels`` → ``{"results": [{"category", "typeId", "label"}]}``;
- ``POST /crm-object-schemas/{V}/schemas/{objectType}/associations``: ``{"fromObjectTypeId",
  "toObjectTypeId", "name"}`` → ``AssociationDefinition``;
- ``GET|POST /crm/properties/{V}/{objectType}/groups``: property groups (``name``, ``label``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reverse_etl.hubspot.calls import CrmCalls, Transport

COMPANIES, CONTACTS = "companies", "contacts"
ASSOC_WRITE = "crm.objects.custom.write"
ASSOC_READ = "crm.objects.custom.read"


@dataclass
class BatchAnswer:
    """A batch answer as plain JSON: ``results`` and per-input ``errors`` (207)."""

    status: int
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def scope_for(object_type: str, write: bool) -> str:
    kind = {COMPANIES: "companies", CONTACTS: "contacts"}.get(object_type, "custom")
    return f"crm.objects.{kind}.{'write' if write else 'read'}"


class CustomerCalls:
    """Typed calls, each one :meth:`Transport.request`; ``crm`` searches the companies a lost
    create may have made."""

    def __init__(self, transport: Transport, crm: CrmCalls) -> None:
        self._transport = transport
        self._crm = crm

    def _batch(self, path: str, inputs: Sequence[dict[str, Any]], scope: str) -> BatchAnswer:
        result = self._transport.request("POST", path, body={"inputs": list(inputs)}, scope=scope)
        body = result.data if isinstance(result.data, dict) else {}
        return BatchAnswer(
            status=result.status,
            results=list(body.get("results") or []),
            errors=list(body.get("errors") or []),
        )

    # -- associations ------------------------------------------------------------------

    def association_labels(self, from_type: str, to_type: str) -> list[dict[str, Any]]:
        result = self._transport.request(
            "GET", self._transport.paths.association_labels(from_type, to_type), scope=ASSOC_READ
        )
        body = result.data if isinstance(result.data, dict) else {}
        return list(body.get("results") or [])

    def create_schema_association(self, object_type: str, to_type: str) -> dict[str, Any]:
        result = self._transport.request(
            "POST",
            self._transport.paths.schema_associations(object_type),
            body={"fromObjectTypeId": object_type, "toObjectTypeId": to_type},
            scope="crm.schemas.custom.write",
            what=f"define the association {object_type} → {to_type}",
        )
        return result.data if isinstance(result.data, dict) else {}

    def associations_create(
        self, from_type: str, to_type: str, inputs: Sequence[dict[str, Any]]
    ) -> BatchAnswer:
        path = self._transport.paths.associations_batch(from_type, to_type, "create")
        return self._batch(path, inputs, ASSOC_WRITE)

    def associations_archive(
        self, from_type: str, to_type: str, inputs: Sequence[dict[str, Any]]
    ) -> BatchAnswer:
        path = self._transport.paths.associations_batch(from_type, to_type, "archive")
        return self._batch(path, inputs, ASSOC_WRITE)

    def associations_read(self, from_type: str, to_type: str, ids: Sequence[str]) -> BatchAnswer:
        path = self._transport.paths.associations_batch(from_type, to_type, "read")
        return self._batch(path, [{"id": i} for i in ids], ASSOC_READ)

    # -- companies and contacts ------------------------------------------------------------

    def objects_batch(
        self, object_type: str, operation: str, inputs: Sequence[dict[str, Any]]
    ) -> BatchAnswer:
        """``POST /crm/objects/{V}/{type}/batch/{operation}`` (create, update), ≤ 100 inputs."""
        return self._batch(
            self._transport.paths.batch(object_type, operation),
            inputs,
            scope_for(object_type, True),
        )

    def create_companies(self, inputs: Sequence[dict[str, Any]], key: str) -> BatchAnswer:
        """``POST /crm/objects/{V}/companies/batch/create`` (≤ 100 inputs), each input
        stamped with a distinct ``properties[key]`` (the Xero ContactID).

        A create is not an upsert, and HubSpot's ``…/batch/upsert`` needs an ``idProperty``
        with ``hasUniqueValue`` (otherwise "Unable to perform update/upsert by non-unique …
        property", quoted in segmentio/action-destinations#3957; the invoices upsert on the
        unique ``xero_invoice_id``). Companies have no such property of ours:
        ``xero_contact_id`` is a person's to correct, and two companies may carry it. So if the
        answer is lost, :meth:`HubSpot.call` has :meth:`_created_since` search the companies
        by ``key`` and resends only the inputs nobody made, so a timeout never makes a second
        company. The companies found count as this call's results."""
        found: list[dict[str, Any]] = []

        def before_resend(body: dict[str, Any]) -> dict[str, Any] | None:
            pending = list(body.get("inputs") or [])
            made = self._created_since(pending, key)
            found.extend(made)
            stamped = {str((r.get("properties") or {}).get(key)) for r in made}
            rest = [i for i in pending if str(i["properties"].get(key)) not in stamped]
            return {**body, "inputs": rest} if rest else None

        result = self._transport.request(
            "POST",
            self._transport.paths.batch(COMPANIES, "create"),
            body={"inputs": list(inputs)},
            scope=scope_for(COMPANIES, True),
            what="create companies",
            before_resend=before_resend,
        )
        body = result.data if isinstance(result.data, dict) else {}
        return BatchAnswer(
            status=result.status,
            results=found + list(body.get("results") or []),
            errors=list(body.get("errors") or []),
        )

    def _created_since(self, inputs: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        """The companies (not archived: search never returns those) whose ``key`` is one of
        the inputs' — what a create whose answer was lost made, one per value."""
        values = sorted({str(i["properties"][key]) for i in inputs if i["properties"].get(key)})
        properties = sorted({k for i in inputs for k in i["properties"]} | {key})
        by_value: dict[str, dict[str, Any]] = {}
        after: str | None = None
        while values:
            body: dict[str, Any] = {
                "filterGroups": [
                    {"filters": [{"propertyName": key, "operator": "IN", "values": values}]}
                ],
                "properties": properties,
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "limit": 200,
            }
            if after:
                body["after"] = after
            page = self._crm.search_page(COMPANIES, body, scope_for(COMPANIES, False))
            for record in page.get("results") or []:
                by_value.setdefault(str((record.get("properties") or {}).get(key)), record)
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        return list(by_value.values())

    def list_property_groups(self, object_type: str) -> list[dict[str, Any]]:
        result = self._transport.request(
            "GET",
            self._transport.paths.property_groups(object_type),
            scope="crm.schemas.custom.read",
        )
        body = result.data if isinstance(result.data, dict) else {}
        return list(body.get("results") or [])

    def create_property_group(self, object_type: str, name: str, label: str) -> None:
        self._transport.request(
            "POST",
            self._transport.paths.property_groups(object_type),
            body={"name": name, "label": label, "displayOrder": -1},
            scope="crm.schemas.custom.write",
            what=f"create the property group {name} on {object_type}",
        )
