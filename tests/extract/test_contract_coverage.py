"""The gate covers every dbt test on the push path, and says so when it stops covering one.

The manifest is the project's own, parsed now (``dbt parse``), so a dbt test added to a model
on the push path without a gate check for its column fails here the day it is written.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from dbt.cli.main import dbtRunner

from pipelines.xero.contract_coverage import push_tests, uncovered
from reverse_etl.core.push_path import DbtGraph
from reverse_etl.transform import dbt_args, release_duckdb


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("dbt_target")
    args = ["parse", *dbt_args(target / "warehouse.duckdb", {}, target_path=target)]
    try:
        result = dbtRunner().invoke(args)
    finally:
        release_duckdb()
    assert result.success, result.exception
    return json.loads(Path(target / "manifest.json").read_text())


def _node_of(manifest: dict[str, Any], model: str, column: str, kind: str) -> dict[str, Any]:
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        attached = node.get("attached_node") or ""
        if (meta.get("name"), node.get("column_name")) == (kind, column) and attached.endswith(
            f".{model}"
        ):
            return node
    raise AssertionError(f"no {kind} test on {model}.{column}")


def _combined_of(manifest: dict[str, Any], model: str, column: str) -> dict[str, Any]:
    """The ``not_null_columns`` test of ``model`` that lists ``column``."""
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        attached = node.get("attached_node") or ""
        if (
            meta.get("name") == "not_null_columns"
            and attached.endswith(f".{model}")
            and column in meta["kwargs"]["columns"]
        ):
            return node
    raise AssertionError(f"no not_null_columns test on {model} listing {column}")


def _with_test(
    manifest: dict[str, Any], like: dict[str, Any], column: str, **kwargs: Any
) -> dict[str, Any]:
    """The manifest with one more test node, a copy of ``like`` on ``column``."""
    out = copy.deepcopy(manifest)
    node = copy.deepcopy(like)
    node["name"] = f"injected_{node['test_metadata']['name']}_{column}"
    node["unique_id"] = f"test.xero_hubspot_invoices.{node['name']}.injected"
    node["column_name"] = column
    node["test_metadata"]["kwargs"] = {**node["test_metadata"]["kwargs"], **kwargs}
    out["nodes"][node["unique_id"]] = node
    return out


def test_every_push_path_test_has_a_gate_check(manifest: dict[str, Any]) -> None:
    tests = list(push_tests(manifest))
    assert len(tests) > 100  # the walk found the project's tests, not an empty list
    tested = {(t.model, t.column, t.kind) for t in tests}
    assert ("stg_xero__invoices", "status", "accepted_values") in tested
    assert ("stg_xero__invoice_line_items", "line_item_id", "not_null") in tested
    # one not_null_columns node counts as a not_null on each column it lists
    assert ("stg_xero__invoices", "tenant_id", "not_null") in tested
    assert ("stg_xero__invoices", "currency_rate", "not_null") in tested  # its warn twin
    assert ("raw_xero.invoices", "status", "not_null") in tested  # on a source
    assert ("stg_xero__invoices", "currency_code", "relationships") in tested
    assert ("hubspot_invoice_actions", "xero_invoice_id", "not_null") in tested  # a constraint
    assert not any(t.model == "fct_ar_aging_by_customer" for t in tests)  # analyst-only
    assert uncovered(manifest) == []


def test_a_new_push_path_test_without_a_gate_check_fails_the_coverage(
    manifest: dict[str, Any],
) -> None:
    not_null = _node_of(manifest, "stg_xero__organisations", "xero_timezone", "not_null")
    added = _with_test(manifest, not_null, "organisation_name")
    (problem,) = uncovered(added)
    assert "injected_not_null_organisation_name" in problem
    assert "not_null on stg_xero__organisations.organisation_name" in problem

    # a column added to a model's not_null_columns test, and that test alone (the same node
    # checks the covered columns too)
    combined = copy.deepcopy(_combined_of(manifest, "stg_xero__invoices", "invoice_id"))
    columns = [*combined["test_metadata"]["kwargs"]["columns"], "due_date"]
    combined["test_metadata"]["kwargs"]["columns"] = columns
    widened_columns = copy.deepcopy(manifest)
    widened_columns["nodes"][combined["unique_id"]] = combined
    (problem,) = uncovered(widened_columns)
    assert combined["name"] in problem and "not_null on stg_xero__invoices.due_date" in problem

    accepted = _node_of(manifest, "stg_xero__invoices", "status", "accepted_values")
    widened = _with_test(manifest, accepted, "status", values=["DRAFT", "ON_HOLD"])
    (problem,) = uncovered(widened)
    assert "no gate check for invoice:Status" in problem

    constrained = copy.deepcopy(manifest)
    fct = next(n for n in constrained["nodes"].values() if n["name"] == "fct_invoices")
    fct["columns"]["due_date"]["constraints"] = [{"type": "not_null"}]
    (problem,) = uncovered(constrained)
    assert "contract constraint not_null on fct_invoices.due_date" in problem

    singular = next(n for n in manifest["nodes"].values() if n["name"].startswith("assert_line"))
    extra = copy.deepcopy(manifest)
    copied = {**copy.deepcopy(singular), "name": "assert_something_new"}
    extra["nodes"]["test.xero_hubspot_invoices.assert_something_new"] = copied
    (problem,) = uncovered(extra)
    assert "assert_something_new" in problem and "SINGULAR" in problem


def test_a_new_test_on_an_analyst_only_mart_needs_no_gate(manifest: dict[str, Any]) -> None:
    not_null = _node_of(manifest, "fct_ar_aging_by_customer", "contact_id", "not_null")
    added = _with_test(manifest, not_null, "customer_name")
    assert uncovered(added) == []
    graph = DbtGraph.of(added)
    injected = "test.xero_hubspot_invoices.injected_not_null_customer_name.injected"
    assert not graph.guards_push(injected)
    assert graph.guards_push(_combined_of(manifest, "fct_invoices", "status")["unique_id"])
