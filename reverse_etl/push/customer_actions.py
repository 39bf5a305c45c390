"""The customers' action tables, read (the customers' twin of :mod:`reverse_etl.push.actions`):
``reverse_etl.hubspot_company_actions`` rows as :class:`CompanyAction` values and
``reverse_etl.hubspot_association_actions`` rows as :class:`AssociationAction` values.

Values are kept as the warehouse gives them (the push sends ``str(value)``, as it always has);
a table transform has not built yet (an older warehouse) reads as no actions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from reverse_etl.core.warehouse import MISSING_RELATION, Connection
from reverse_etl.core.warehouse_sql import IN_LIST
from reverse_etl.hubspot.customer_calls import COMPANIES

ASSOCIATION_ACTIONS = "reverse_etl.hubspot_association_actions"
COMPANY_ACTIONS = "reverse_etl.hubspot_company_actions"


@dataclass(frozen=True)
class CompanyAction:
    """One row of ``hubspot_company_actions``: UPDATE or CLEAR a matched company's balance
    properties, or CREATE a company for an unmatched customer."""

    action: str  # UPDATE | CLEAR | CREATE
    hs_company_id: Any
    contact_id: Any  # the Xero ContactID the row is about
    changed_properties: tuple[str, ...]
    values: dict[str, Any]  # the whole row, properties included

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CompanyAction:
        return cls(
            action=row["action"],
            hs_company_id=row["hs_company_id"],
            contact_id=row.get("contact_id") or row.get("xero_contact_id"),
            changed_properties=tuple(row.get("changed_properties") or ()),
            values=row,
        )

    @property
    def stamp(self) -> Any:
        """The ``xero_contact_id`` property this write sets (a CREATE's key in the answer)."""
        return self.values.get("xero_contact_id")

    def properties(self, *, blank_as_empty: bool) -> dict[str, str]:
        """The changed properties as HubSpot takes them; a cleared one as ``""`` when
        ``blank_as_empty`` (HubSpot clears a property given an empty string), else left out."""
        out = {}
        for name in self.changed_properties:
            value = self.values.get(name)
            if value is None:
                if blank_as_empty:
                    out[name] = ""
                continue
            out[name] = str(value)
        return out


@dataclass(frozen=True)
class AssociationAction:
    """One row of ``hubspot_association_actions``: CREATE or REMOVE the association of an
    invoice record with a company or contact. ``record_id`` is the invoice record's HubSpot id
    once known (:meth:`with_record`)."""

    action: str  # CREATE | REMOVE
    xero_invoice_id: Any
    invoice_hs_object_id: Any
    to_object_type: Any
    to_object_id: Any
    xero_contact_id: Any = None
    match_rule: Any = None
    record_id: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AssociationAction:
        return cls(
            action=row["action"],
            xero_invoice_id=row["xero_invoice_id"],
            invoice_hs_object_id=row["invoice_hs_object_id"],
            to_object_type=row["to_object_type"],
            to_object_id=row["to_object_id"],
            xero_contact_id=row.get("xero_contact_id"),
            match_rule=row.get("match_rule"),
        )

    @property
    def to_id(self) -> str:
        return str(self.to_object_id)

    def with_record(self, record_id: Any) -> AssociationAction:
        return replace(self, record_id=str(record_id))


def read_company_actions(con: Connection) -> list[CompanyAction]:
    return [CompanyAction.from_row(row) for row in _rows(con, COMPANY_ACTIONS)]


def read_association_actions(con: Connection) -> list[AssociationAction]:
    return [AssociationAction.from_row(row) for row in _rows(con, ASSOCIATION_ACTIONS)]


def associate_created(con: Connection, created: dict[str, str]) -> list[AssociationAction]:
    """Association CREATE actions from each mirrored invoice of a customer to the company just
    created for it (its contact, if any, is matched on the next run)."""
    if not created:
        return []
    try:
        rows = con.execute(
            "select xero_invoice_id, xero_contact_id from reverse_etl.hubspot_invoices_desired "
            f"where xero_contact_id {IN_LIST} order by xero_invoice_id",
            [sorted(created)],
        ).fetchall()
    except MISSING_RELATION:  # no transform yet
        return []
    return [
        AssociationAction(
            action="CREATE",
            xero_invoice_id=invoice_id,
            invoice_hs_object_id=None,
            to_object_type=COMPANIES,
            to_object_id=created[contact_id],
            xero_contact_id=contact_id,
            match_rule="created",
        )
        for invoice_id, contact_id in rows
    ]


def _rows(con: Connection, table: str) -> list[dict[str, Any]]:
    try:
        cursor = con.execute(f"select * from {table}")
    except MISSING_RELATION:  # transform has not built it yet (older warehouse)
        return []
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
