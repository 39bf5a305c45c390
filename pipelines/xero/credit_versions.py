"""``raw_xero.credit_versions``: every version read of a credit note, overpayment or
prepayment, with how many allocations it listed — the history that dates a removed allocation.

Xero answers the removal of an allocation (``DELETE /CreditNotes/{id}/Allocations/{id}``) with
``IsDeleted: true``, but whether later reads still list it is not documented (API_FACTS.md);
the parent's list is the truth: an allocation its re-read parent no longer lists has gone.
``raw_xero.allocations`` keeps one row per allocation (merged on ``allocation_key``), stamped
with the ``UpdatedDateUTC`` of the last parent version that listed it; this table keeps every
parent version, so ``int_credit_allocations`` can name the first version read without it
(``removed_seen_at``) however often the parent changed since. Merged on
(``source_type``, ``source_id``, ``source_updated_date_utc``): re-reading an overlapping
window never duplicates.
"""

from __future__ import annotations

from typing import Any

CREDIT_VERSION_COLUMNS: dict[str, dict[str, Any]] = {
    "source_type": {"data_type": "text", "nullable": False},
    "source_id": {"data_type": "text", "nullable": False},
    "tenant_id": {"data_type": "text", "nullable": False},
    "source_updated_date_utc": {"data_type": "timestamp", "timezone": True, "nullable": False},
    "status": {"data_type": "text"},
    "allocations_listed": {"data_type": "bigint"},
}
CREDIT_VERSION_KEY = ["source_type", "source_id", "source_updated_date_utc"]


def credit_version_row(
    source_type: str, source_id: str, row: dict[str, Any], allocations: list[dict[str, Any]]
) -> dict[str, Any]:
    """The version row of one parsed parent ``row`` (its ``updated_date_utc`` already in the
    form handed to dlt) and the allocations parsed from it."""
    return {
        "source_type": source_type,
        "source_id": source_id,
        "tenant_id": row["tenant_id"],
        "source_updated_date_utc": row["updated_date_utc"],
        "status": row.get("status"),
        "allocations_listed": len(allocations),
    }
