"""Which data tests an hourly build runs (dbt_project/selectors.yml): every test of the tables
the push writes from — the action tables and the status changes, and the singular tests of
the diff — and none of those tagged ``daily_only`` (the action tables' inputs), which wait
for the daily build. The project's own manifest and selector, resolved by ``dbt ls``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dbt.cli.main import dbtRunner

from reverse_etl.transform import dbt_args, release_duckdb

# the tables whose rows the push sends to HubSpot or to the alert targets
WRITTEN = (
    "hubspot_invoice_actions",
    "invoice_status_changes",
    "hubspot_company_actions",
    "hubspot_association_actions",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], set[str]]:
    """The parsed manifest, and the unique ids of the tests the hourly selector picks."""
    target = tmp_path_factory.mktemp("dbt_target")
    common = dbt_args(target / "warehouse.duckdb", {}, target_path=target)
    try:
        listed = dbtRunner().invoke(
            [
                "ls",
                *common,
                "--selector",
                "hourly",
                "--resource-type",
                "test",
                "--output",
                "json",
                "--output-keys",
                "unique_id",
            ]
        )
    finally:
        release_duckdb()
    assert listed.success, listed.exception
    manifest = json.loads(Path(target / "manifest.json").read_text())
    return manifest, {json.loads(line)["unique_id"] for line in listed.result}


def _tests(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]


# (table, column) the push reads as keys, actions and required values
REQUIRED = {
    ("hubspot_invoice_actions", "xero_invoice_id"),
    ("hubspot_invoice_actions", "action"),
    ("invoice_status_changes", "xero_invoice_id"),
    ("invoice_status_changes", "hs_object_id"),
    ("invoice_status_changes", "new_status"),
    ("hubspot_company_actions", "action"),
    ("hubspot_association_actions", "action"),
    ("hubspot_association_actions", "xero_invoice_id"),
    ("hubspot_association_actions", "to_object_id"),
}


def _kept_from_nulls(manifest: dict[str, Any], hourly: set[str]) -> set[tuple[str, str]]:
    """(table, column) pairs an hourly build keeps from nulls: a not_null constraint of an
    enforced contract, or a not_null / not_null_columns test the hourly selector picks."""
    kept = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["config"]["contract"]["enforced"]:
            for column, spec in node["columns"].items():
                if any(c["type"] == "not_null" for c in spec.get("constraints") or []):
                    kept.add((node["name"], column))
    for test in _tests(manifest):
        meta = test.get("test_metadata") or {}
        if test["unique_id"] not in hourly or meta.get("name") not in (
            "not_null",
            "not_null_columns",
        ):
            continue
        table = (test.get("attached_node") or "").rsplit(".", 1)[-1]
        kwargs = meta.get("kwargs") or {}
        for column in kwargs.get("columns") or [kwargs.get("column_name")]:
            kept.add((table, column))
    return kept


def test_every_test_of_what_the_push_writes_runs_hourly(project) -> None:
    manifest, hourly = project
    guards = {
        n["unique_id"]
        for n in _tests(manifest)
        if (n.get("attached_node") or "").rsplit(".", 1)[-1] in WRITTEN
    }
    assert guards <= hourly, sorted(guards - hourly)
    # the keys and actions the push reads are never null in an hourly build: the warehouse
    # refuses a null in a column with a contract's not_null constraint as the table is built
    # (no data test: it could never fail), and every other one has a not_null test that runs
    kept = _kept_from_nulls(manifest, hourly)
    assert not REQUIRED - kept, sorted(REQUIRED - kept)
    # the singular tests of the diff (dbt_project/tests/)
    for name in (
        "assert_no_action_when_hubspot_record_matches",
        "assert_one_action_per_mirrored_invoice",
        "assert_status_changes_are_updates",
    ):
        assert f"test.xero_hubspot_invoices.{name}" in hourly, name


def test_tests_tagged_daily_only_wait_for_the_daily_build(project) -> None:
    manifest, hourly = project
    daily_only = {n["unique_id"] for n in _tests(manifest) if "daily_only" in n["tags"]}
    # the tests of what HubSpot should hold and of the match candidates
    attached = {
        n["attached_node"].rsplit(".", 1)[-1]
        for n in _tests(manifest)
        if n["unique_id"] in daily_only
    }
    assert attached == {"hubspot_invoices_desired", "customer_match_candidates"}
    assert len(daily_only) == 7
    assert not daily_only & hourly
    assert not any(u.startswith("unit_test.") for u in hourly)
