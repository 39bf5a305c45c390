"""Does the gate (:mod:`pipelines.xero.contract`) check everything the push path's dbt tests do?

:func:`uncovered` walks the dbt manifest: for every data test that guards the push
(:mod:`reverse_etl.core.push_path`), it follows the tested column back to the Xero field it comes
from (:data:`LINEAGE`, an explicit map: staging, intermediate and pushed columns → Xero JSON
paths) and asserts :data:`~pipelines.xero.contract.CHECKS` holds the matching check (the
column constraints of enforced model contracts count as tests of the same kind):

=====================  ===============================================================
dbt test               gate rule
=====================  ===============================================================
``not_null``           ``required`` (``not_null_columns``: the same, for each column it lists)
``unique``             ``unique`` (checked, or ``enforced_by`` a merge key)
``accepted_values``    ``one_of`` with the very same values
``relationships``      ``currency`` when it points at the ISO 4217 seed, else
                       ``relationships`` (a child written only with its parent)
``positive``           ``positive``
singular tests         :data:`SINGULAR`: a ``reconciles`` check, or why none is needed
=====================  ===============================================================

A column that does not come from a Xero field (HubSpot's snapshot, dlt's keys, what our SQL
computes) is listed in :data:`NOT_FROM_XERO` with the reason. A test on a column in neither
map is reported too: adding a dbt test on the push path without a gate for it fails
``tests/extract/test_contract_coverage.py``, the day it is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.xero.contract import CHECKS, Check
from reverse_etl.core.push_path import DbtGraph

_INVOICE_ID = ("invoice:InvoiceID",)
_STATUS = ("invoice:Status",)
_TYPE = ("invoice:Type",)

# model (or source ``schema.table``) → column → the Xero fields it comes from; a field may
# name its rule after ``#`` when the dbt test's kind alone does not say it.
LINEAGE: dict[str, dict[str, tuple[str, ...]]] = {
    "raw_xero.invoices": {
        "invoice_id": _INVOICE_ID,
        "invoice_type": _TYPE,
        "status": _STATUS,
    },
    "raw_xero.invoice_versions": {"invoice_id": _INVOICE_ID, "status": _STATUS,
                                  "updated_date_utc": ("invoice:UpdatedDateUTC",)},
    "stg_xero__invoices": {
        "invoice_id": _INVOICE_ID,
        "invoice_type": _TYPE,
        "status": _STATUS,
        "line_amount_types": ("invoice:LineAmountTypes",),
        "updated_at": ("invoice:UpdatedDateUTC",),
        "contact_id": ("invoice:Contact.ContactID",),
        "currency_code": ("invoice:CurrencyCode",),
        "currency_rate": ("invoice:CurrencyRate",),
    },
    # a line is keyed by its invoice and its LineItemID (Xero has repeated a LineItemID on
    # two invoices): the gate checks LineItemID unique within its invoice
    "stg_xero__invoice_line_items": {
        "line_item_id": ("line item:LineItemID",),
        "invoice_dlt_row_id || '/' || line_item_id": ("line item:LineItemID",),
    },
    "stg_xero__invoice_versions": {"invoice_id": _INVOICE_ID, "status": _STATUS,
                                   "updated_at": ("invoice:UpdatedDateUTC",)},
    "int_invoice_line_items": {"invoice_id": _INVOICE_ID,
                               "line_item_id": ("line item:LineItemID",),
                               "invoice_id || '/' || line_item_id": ("line item:LineItemID",)},
    "fct_invoices": {"invoice_id": _INVOICE_ID, "invoice_type": _TYPE, "status": _STATUS,
                     "updated_at": ("invoice:UpdatedDateUTC",)},
    "fct_payments": {"payment_id": ("payment:PaymentID",)},
    "dim_customers": {"contact_id": ("contact:ContactID",)},
    "customer_matches": {"contact_id": ("contact:ContactID",)},
    "customer_match_candidates": {"contact_id": ("contact:ContactID",)},
    "unmatched_customers": {"contact_id": ("contact:ContactID",)},
    "hubspot_invoices_desired": {"xero_invoice_id": _INVOICE_ID, "status": _STATUS,
                                 "invoice_type": _TYPE},
    "hubspot_invoice_actions": {"xero_invoice_id": _INVOICE_ID},
    "invoice_status_changes": {"xero_invoice_id": _INVOICE_ID},
    "stg_xero__payments": {"currency_rate": ("payment:CurrencyRate",)},
    "stg_xero__organisations": {
        "base_currency_code": ("organisation:BaseCurrency",),
        "xero_timezone": ("organisation:Timezone",),
        "timezone": ("organisation:Timezone",),
        "timezone_is_known": ("organisation:Timezone#timezone",),
    },
    **{
        f"stg_xero__{table}": {
            "contact_id": (f"{resource}:Contact.ContactID",),
            "currency_code": (f"{resource}:CurrencyCode",),
            "currency_rate": (f"{resource}:CurrencyRate",),
        }
        for table, resource in (
            ("credit_notes", "credit note"),
            ("overpayments", "overpayment"),
            ("prepayments", "prepayment"),
        )
    },
}  # fmt: skip

_TENANT = "set by the extract from the organisation it read (Xero-Tenant-Id), never from a record"
_DLT = "dlt's own row keys, set when it loads the rows"
_OURS = "computed by our SQL from columns the gate checks, or from HubSpot's answers"
NOT_FROM_XERO: dict[str, dict[str, str] | str] = {
    "raw_hubspot.invoice_records": "HubSpot's snapshot (pipelines/hubspot_snapshot), not Xero",
    "raw_hubspot.companies": "HubSpot's snapshot (pipelines/hubspot_snapshot), not Xero",
    "raw_hubspot.contacts": "HubSpot's snapshot (pipelines/hubspot_snapshot), not Xero",
    "raw_hubspot.invoice_associations": "HubSpot's snapshot (pipelines/hubspot_snapshot)",
    "stg_hubspot__invoice_records": "HubSpot's snapshot, not Xero",
    "stg_hubspot__companies": "HubSpot's snapshot, not Xero",
    "stg_hubspot__company_stamps": "HubSpot's snapshot, not Xero",
    "stg_hubspot__contacts": "HubSpot's snapshot, not Xero",
    "hubspot_invoice_actions": {"action": _OURS, "changed_properties": _OURS},
    "hubspot_association_actions": _OURS,
    "hubspot_unexplained_invoices": "HubSpot's records that no Xero invoice explains: HubSpot's "
    "snapshot and our SQL, never a Xero record",
    "hubspot_company_actions": _OURS,
    "invoice_status_changes": {"hs_object_id": _OURS, "new_status": _OURS,
                               "previous_status": _OURS},
    "customer_match_candidates": {"rule": _OURS},
    "raw_xero.invoices": {"tenant_id": _TENANT, "_dlt_id": _DLT},
    "raw_xero.invoices__line_items": {"_dlt_id": _DLT, "_dlt_root_id": _DLT},
    "raw_xero.organisations": {"tenant_id": _TENANT},
    "stg_xero__invoices": {"tenant_id": _TENANT},
    "stg_xero__invoice_line_items": {"invoice_dlt_row_id": _DLT},
    "stg_xero__invoice_versions": {
        "invoice_version_id": "invoice_id@updated_at: both required by the gate, one row per "
        "pair by the versions table's merge key",
    },
    "stg_xero__organisations": {"tenant_id": _TENANT},
    "fct_invoices": {"tenant_id": _TENANT},
    "dim_customers": {"tenant_id": _TENANT},
}  # fmt: skip

# singular tests on the push path → the gate's check (``resource:Field#rule``) or why none
SINGULAR: dict[str, str] = {
    "assert_amount_due_is_total_less_paid_and_credited": "invoice:AmountDue#reconciles",
    "assert_line_items_sum_to_invoice_subtotal": "invoice:SubTotal#reconciles",
    "assert_no_action_when_hubspot_record_matches": "why: the diff's own invariant (our SQL)",
    "assert_one_action_per_mirrored_invoice": "why: the diff's own invariant (our SQL)",
    "assert_status_changes_are_updates": "why: the diff's own invariant (our SQL)",
    "assert_customer_receivables_match_xero": "why: severity warn, compares with Xero's own "
    "Balances (a difference is information, not a bad record)",
}

_RULE_OF_TEST = {
    "not_null": "required",
    "unique": "unique",
    "accepted_values": "one_of",
    "positive": "positive",
}
_SOURCE = re.compile(r"source\('(\w+)', '(\w+)'\)")


@dataclass(frozen=True)
class PushTest:
    """One data test that guards the push, as the coverage needs it."""

    name: str
    model: str | None  # model name, or ``schema.table`` of a source; None for singular tests
    column: str | None
    kind: str  # not_null, unique, accepted_values, relationships, ... or "singular"
    kwargs: Mapping[str, Any]


def push_tests(manifest: Any) -> Iterator[PushTest]:
    """The data tests on the push path, from the ``manifest.json`` form of the manifest, and
    the column constraints of the enforced model contracts there (``not_null`` ones are
    checked by the warehouse when the model is built: a failure stops the build too)."""
    graph = DbtGraph.of(manifest)
    path = graph.push_path()
    for uid in sorted(path):
        node = manifest["nodes"].get(uid) or {}
        for column, spec in (node.get("columns") or {}).items():
            for constraint in spec.get("constraints") or []:
                kind = constraint.get("type")
                name = f"contract constraint {kind} on {node['name']}.{column}"
                yield PushTest(name, node["name"], column, kind, {})
    for uid in graph.tests():
        if not graph.guards_push(uid, path):
            continue
        node = manifest["nodes"][uid]
        meta = node.get("test_metadata") or {}
        if not meta:
            yield PushTest(node["name"], None, None, "singular", {})
            continue
        kwargs = meta.get("kwargs") or {}
        attached = node.get("attached_node")
        if attached:
            model = manifest["nodes"][attached]["name"]
        else:
            found = _SOURCE.search(str(kwargs.get("model", "")))
            model = f"{found.group(1)}.{found.group(2)}" if found else None
        if meta["name"] == "not_null_columns":
            # one node checks several columns (dbt_project/tests/generic/not_null_columns.sql):
            # a not_null on each, as the gate sees it
            for column in kwargs.get("columns") or []:
                yield PushTest(node["name"], model, column, "not_null", kwargs)
            continue
        # a model-level test names its column (or an expression of columns) in its arguments
        column = node.get("column_name") or kwargs.get("column_name")
        yield PushTest(node["name"], model, column, meta["name"], kwargs)


def uncovered(manifest: Any) -> list[str]:
    """One line per push-path test the gate does not match (empty when all are covered)."""
    problems: list[str] = []
    for test in push_tests(manifest):
        if test.kind == "singular":
            target = SINGULAR.get(test.name)
            if target is None:
                problems.append(
                    f"singular test {test.name}: add it to SINGULAR in "
                    "pipelines/xero/contract_coverage.py (a gate check, or why none)"
                )
            elif not target.startswith("why:") and _find(target, None) is None:
                problems.append(f"singular test {test.name}: no gate check {target}")
            continue
        why = NOT_FROM_XERO.get(test.model or "")
        if isinstance(why, str) or (isinstance(why, dict) and test.column in why):
            continue
        fields = LINEAGE.get(test.model or "", {}).get(test.column or "")
        if not fields:
            problems.append(
                f"{test.name} ({test.kind} on {test.model}.{test.column}): the column is in "
                "neither LINEAGE nor NOT_FROM_XERO of pipelines/xero/contract_coverage.py"
            )
            continue
        for field in fields:
            if _find(field, test) is None:
                problems.append(
                    f"{test.name} ({test.kind} on {test.model}.{test.column}): no gate check "
                    f"for {field} in pipelines/xero/contract.py CHECKS"
                )
    return problems


def _find(target: str, test: PushTest | None) -> Check | None:
    """The check ``resource:Field.Path[#rule]`` that matches ``test`` (its kind and values)."""
    spec, _, rule = target.partition("#")
    resource, _, field = spec.partition(":")
    if not rule and test is not None:
        rule = _rule_of(test)
    for check in CHECKS:
        if check.resource != resource or check.field != field or check.rule != rule:
            continue
        values = sorted(map(str, test.kwargs.get("values") or [])) if test is not None else None
        if rule == "one_of" and values is not None and values != sorted(check.values):
            continue
        return check
    return None


def _rule_of(test: PushTest) -> str:
    if test.kind == "relationships":
        to = str(test.kwargs.get("to", ""))
        return "currency" if "iso_4217_currencies" in to else "relationships"
    return _RULE_OF_TEST.get(test.kind, test.kind)
