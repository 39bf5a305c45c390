"""The customers part of `invoice-sync push` (issue 13): company balance properties
(``reverse_etl.hubspot_company_actions``) and invoice associations
(``reverse_etl.hubspot_association_actions``), after the invoice upserts of the same run.

Through the one :class:`~reverse_etl.hubspot.HubSpot` client (its limiter, retries and call
count; the calls are counted in the run's ``sync_log.runs.hubspot_calls``):

- companies: ``POST /crm/objects/{V}/companies/batch/update`` (UPDATE, CLEAR; ≤ 100 inputs,
  ``{"id", "properties"}``, a cleared value sent as ``""``) and ``…/batch/create`` (CREATE, only
  with ``HUBSPOT_CREATE_COMPANIES``);
- associations: ``POST /crm/associations/{V}/{invoiceType}/{companies|contacts}/batch/archive``
  for REMOVE first, then ``…/batch/create`` for CREATE, ≤ :data:`ASSOCIATION_BATCH` inputs, with
  the unlabelled USER_DEFINED type read from ``…/labels`` (one call per target type, only when
  there is something to send).

An empty action table makes no call at all. What HubSpot confirmed is written back at once —
company values into ``raw_hubspot.companies``, every ``xero_contact_id`` written into
``raw_hubspot.company_stamps`` (the tool's stamp log that matching rule 1 reads to tell a
person's value from its own), created/removed associations into
``raw_hubspot.invoice_associations`` — so the next transform sees HubSpot's state without a
full refresh, and a crash re-sends only what was not confirmed. A per-input error (207: an
unknown company, contact or record, a limit) is logged with HubSpot's message and counted; the
input stays in the action table and is retried next run.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from pipelines.hubspot_snapshot.customers import COMPANY_FIELDS, association_key
from reverse_etl.customer_schema import COMPANY_PROPERTY_NAMES, association_type_id
from reverse_etl.hubspot import HubSpot
from reverse_etl.hubspot_customer_calls import COMPANIES, BatchAnswer
from reverse_etl.sync_log import now

log = logging.getLogger(__name__)

ASSOCIATION_BATCH = 1_000
COMPANY_BATCH = 100
ASSOCIATION_ACTIONS = "reverse_etl.hubspot_association_actions"
COMPANY_ACTIONS = "reverse_etl.hubspot_company_actions"


@dataclass
class CustomersPushReport:
    companies_updated: int = 0
    companies_created: int = 0
    associations_created: int = 0
    associations_removed: int = 0
    association_calls: int = 0
    company_calls: int = 0
    rejected: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"Customers: {self.companies_updated} company(ies) updated, "
            f"{self.companies_created} created; {self.associations_created} association(s) "
            f"made, {self.associations_removed} removed ({self.company_calls} company + "
            f"{self.association_calls} association call(s))"
        )
        if self.rejected:
            text += f"; {len(self.rejected)} refused: " + "; ".join(self.rejected[:5])
        return text + "."


def push_customers(
    con: duckdb.DuckDBPyConnection, hub: HubSpot, object_type: str, run_id: str
) -> CustomersPushReport:
    report = CustomersPushReport()
    companies = _read(con, COMPANY_ACTIONS)
    if companies:
        _push_companies(con, hub, companies, report, run_id)
    associations = _read(con, ASSOCIATION_ACTIONS)
    if associations:
        _push_associations(con, hub, object_type, associations, report, run_id)
    if companies or associations:
        log.info(report.summary())
    return report


def _read(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    try:
        cursor = con.execute(f"select * from {table}")
    except duckdb.CatalogException:  # transform has not built it yet (older warehouse)
        return []
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


# -- companies ---------------------------------------------------------------------------


def _push_companies(
    con: duckdb.DuckDBPyConnection,
    hub: HubSpot,
    actions: list[dict[str, Any]],
    report: CustomersPushReport,
    run_id: str,
) -> None:
    updates = [a for a in actions if a["action"] in ("UPDATE", "CLEAR") and a["hs_company_id"]]
    creates = [a for a in actions if a["action"] == "CREATE"]
    for batch in _chunks(updates, COMPANY_BATCH):
        inputs = [
            {"id": str(a["hs_company_id"]), "properties": _properties(a, blank_as_empty=True)}
            for a in batch
        ]
        answer = hub.objects_batch(COMPANIES, "update", inputs)
        report.company_calls += 1
        written = [r for r in answer.results if r.get("id")]
        report.companies_updated += len(written)
        _reject(report, answer, "company update")
        sent = {str(i["id"]): i["properties"] for i in inputs}
        _write_back_companies(
            con, [(str(r["id"]), sent.get(str(r["id"]), {})) for r in written], run_id
        )
    for batch in _chunks(creates, COMPANY_BATCH):
        inputs = [{"properties": _properties(a, blank_as_empty=False)} for a in batch]
        answer = hub.objects_batch(COMPANIES, "create", inputs)
        report.company_calls += 1
        rows = []
        for result in answer.results:
            props = {
                k: v for k, v in (result.get("properties") or {}).items() if k in COMPANY_FIELDS
            }
            rows.append((str(result["id"]), props))
        report.companies_created += len(rows)
        _reject(report, answer, "company create")
        _write_back_companies(con, rows, run_id)


def _properties(action: dict[str, Any], *, blank_as_empty: bool) -> dict[str, str]:
    names = list(action.get("changed_properties") or [])
    out = {}
    for name in names:
        value = action.get(name)
        if value is None:
            if blank_as_empty:
                out[name] = ""  # HubSpot clears a property given an empty string
            continue
        out[name] = str(value)
    return out


def _write_back_companies(
    con: duckdb.DuckDBPyConnection, rows: list[tuple[str, dict[str, str]]], run_id: str
) -> None:
    """Merge what HubSpot confirmed into ``raw_hubspot.companies``; log every stamp."""
    stamped_at = now()
    for company_id, props in rows:
        values = {k: (v or None) for k, v in props.items() if k in COMPANY_FIELDS}
        exists = con.execute(
            "select count(*) from raw_hubspot.companies where hs_object_id = ?", [company_id]
        ).fetchone()
        if exists and exists[0]:
            if values:
                sets = ", ".join(f"{k} = ?" for k in values)
                con.execute(
                    f"update raw_hubspot.companies set {sets} where hs_object_id = ?",
                    [*values.values(), company_id],
                )
        else:
            columns = ["hs_object_id", *values, "archived", "_dlt_load_id", "_dlt_id"]
            con.execute(
                f"insert into raw_hubspot.companies ({', '.join(columns)}) values "
                f"({', '.join('?' for _ in columns)})",
                [company_id, *values.values(), False, f"push:{run_id}", str(uuid.uuid4())],
            )
        if "xero_contact_id" in props:
            con.execute(
                "insert into raw_hubspot.company_stamps (hs_company_id, xero_contact_id, "
                "stamped_at, _dlt_load_id, _dlt_id) values (?, ?, ?, ?, ?)",
                [
                    company_id,
                    props["xero_contact_id"],
                    stamped_at,
                    f"push:{run_id}",
                    str(uuid.uuid4()),
                ],
            )


# -- associations --------------------------------------------------------------------------


def _push_associations(
    con: duckdb.DuckDBPyConnection,
    hub: HubSpot,
    object_type: str,
    actions: list[dict[str, Any]],
    report: CustomersPushReport,
    run_id: str,
) -> None:
    missing = sorted({a["xero_invoice_id"] for a in actions if not a["invoice_hs_object_id"]})
    ids = _record_ids(con, missing)
    by_target: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for action in actions:
        record_id = action["invoice_hs_object_id"] or ids.get(action["xero_invoice_id"])
        if not record_id:
            continue  # its record was not written (rejected): next run
        by_target[(action["action"], action["to_object_type"])].append(
            (str(record_id), str(action["to_object_id"]))
        )
    for (verb, to_type), pairs in sorted(by_target.items(), key=lambda kv: kv[0][0] != "REMOVE"):
        if verb == "REMOVE":
            grouped: dict[str, list[str]] = defaultdict(list)
            for record_id, to_id in pairs:
                grouped[record_id].append(to_id)
            items = list(grouped.items())
            for batch in _chunks(items, ASSOCIATION_BATCH):
                inputs = [{"from": {"id": r}, "to": [{"id": t} for t in ts]} for r, ts in batch]
                answer = hub.associations_archive(object_type, to_type, inputs)
                report.association_calls += 1
                refused = _reject(report, answer, f"association removal ({to_type})")
                done = [(r, t) for r, ts in batch if r not in refused for t in ts]
                report.associations_removed += len(done)
                _forget_associations(con, to_type, done)
            continue
        type_id = association_type_id(hub, object_type, to_type)
        report.association_calls += 1
        for batch in _chunks(pairs, ASSOCIATION_BATCH):
            inputs = [
                {
                    "from": {"id": r},
                    "to": {"id": t},
                    "types": [
                        {"associationCategory": "USER_DEFINED", "associationTypeId": type_id}
                    ],
                }
                for r, t in batch
            ]
            answer = hub.associations_create(object_type, to_type, inputs)
            report.association_calls += 1
            _reject(report, answer, f"association ({to_type})")
            made = [(str(x["fromObjectId"]), str(x["toObjectId"])) for x in answer.results]
            report.associations_created += len(made)
            _remember_associations(con, to_type, made, run_id)


def _record_ids(con: duckdb.DuckDBPyConnection, xero_ids: Sequence[str]) -> dict[str, str]:
    """The HubSpot ids of invoice records this push has just created (written back)."""
    if not xero_ids:
        return {}
    rows = con.execute(
        "select xero_invoice_id, hs_object_id from raw_hubspot.invoice_records "
        "where xero_invoice_id in (select unnest(?)) and not coalesce(archived, false)",
        [list(xero_ids)],
    ).fetchall()
    return {str(x): str(h) for x, h in rows}


def _remember_associations(
    con: duckdb.DuckDBPyConnection, to_type: str, pairs: list[tuple[str, str]], run_id: str
) -> None:
    if not pairs:
        return
    keys = [association_key(r, to_type, t) for r, t in pairs]
    con.execute(
        "delete from raw_hubspot.invoice_associations where association_key in (select unnest(?))",
        [keys],
    )
    con.execute(
        "insert into raw_hubspot.invoice_associations (association_key, invoice_hs_object_id, "
        "to_object_type, to_object_id, _dlt_load_id, _dlt_id) select unnest($k), unnest($r), "
        "$type, unnest($t), $load, uuid()::varchar",
        {
            "k": keys,
            "r": [r for r, _ in pairs],
            "t": [t for _, t in pairs],
            "type": to_type,
            "load": f"push:{run_id}",
        },
    )


def _forget_associations(
    con: duckdb.DuckDBPyConnection, to_type: str, pairs: list[tuple[str, str]]
) -> None:
    if pairs:
        con.execute(
            "delete from raw_hubspot.invoice_associations where association_key in "
            "(select unnest(?))",
            [[association_key(r, to_type, t) for r, t in pairs]],
        )


# -- helpers -------------------------------------------------------------------------------


def _reject(report: CustomersPushReport, answer: BatchAnswer, what: str) -> set[str]:
    """Log each per-input error with HubSpot's words; returns the ids it names."""
    named: set[str] = set()
    for error in answer.errors:
        ids = [str(i) for values in (error.get("context") or {}).values() for i in values]
        named.update(ids)
        line = f"{what} {', '.join(ids) or '?'}: {error.get('category')} {error.get('message')}"
        report.rejected.append(line)
        log.warning("HubSpot refused %s", line)
    return named


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


__all__ = ["COMPANY_PROPERTY_NAMES", "CustomersPushReport", "push_customers"]
