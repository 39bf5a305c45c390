"""The dbt project's floor plan (issue 21): YAML without duplicate keys, every model's YAML
beside its SQL, and the company property list written once (the seed
``hubspot_company_properties``), read by setup, the snapshot and the company action table.

A duplicate key in YAML is not an error to PyYAML (the last value silently wins) nor to dbt
(a deprecation warning on every ``dbt docs generate``), so the loader here refuses it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from pipelines.hubspot_snapshot.customers import TABLES
from reverse_etl.hubspot.customer_calls import COMPANIES
from reverse_etl.hubspot.customer_records import (
    COMPANY_FIELDS,
    COMPANY_PROPERTIES,
    COMPANY_PROPERTIES_CSV,
    COMPANY_PROPERTY_NAMES,
)
from reverse_etl.push.customer_schema import COMPANY_PROPERTIES as SETUP_PROPERTIES
from reverse_etl.push.customer_schema import CONTACT_PROPERTIES, XERO_CONTACT_ID
from reverse_etl.transform import DBT_PROJECT_DIR

MODELS = DBT_PROJECT_DIR / "models"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that raises on a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _project_yaml() -> list[Path]:
    skip = {"target", "logs", "dbt_packages"}
    return [
        path
        for path in sorted(DBT_PROJECT_DIR.rglob("*.yml"))
        if not skip & set(path.relative_to(DBT_PROJECT_DIR).parts)
    ]


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_StrictLoader)


def test_strict_loader_refuses_a_duplicate_key() -> None:
    try:
        yaml.load("models:\n  a: 1\n  a: 2\n", Loader=_StrictLoader)
    except yaml.constructor.ConstructorError as error:
        assert "duplicate key 'a'" in str(error)
    else:
        raise AssertionError("a duplicate key was accepted")


def test_no_dbt_yaml_file_writes_a_key_twice() -> None:
    files = _project_yaml()
    assert DBT_PROJECT_DIR / "dbt_project.yml" in files
    for path in files:
        _load(path)  # raises on a duplicate key, naming it


def test_every_model_is_described_in_yaml_beside_its_sql() -> None:
    described: dict[str, Path] = {}
    for path in _project_yaml():
        if MODELS not in path.parents:
            continue  # dbt_project.yml's `models:` is configuration, not properties
        for model in (_load(path) or {}).get("models") or []:
            assert model["name"] not in described, f"{model['name']} described twice"
            described[model["name"]] = path.parent
    sql = {path.stem: path.parent for path in MODELS.rglob("*.sql")}
    assert sql, "no models found"
    assert {name: described.get(name) for name in sql} == sql


def test_reverse_etl_models_sit_in_their_floor() -> None:
    folders = {path.stem: path.parent.name for path in (MODELS / "reverse_etl").rglob("*.sql")}
    assert {name for name, folder in folders.items() if folder == "invoices"} == {
        "hubspot_invoices_desired",
        "hubspot_invoice_actions",
        "invoice_status_changes",
        "hubspot_unexplained_invoices",
        "int_hubspot_changed_invoices",
    }
    assert set(folders.values()) == {"invoices", "customers"}


def test_company_property_list_is_the_seed_everywhere() -> None:
    with COMPANY_PROPERTIES_CSV.open(newline="", encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(row["position"]))
    names = tuple(row["name"] for row in rows)
    created = tuple(row["name"] for row in rows if row["created_by_setup"] == "true")
    assert names[:2] == ("name", "domain") and "xero_amount_outstanding" in created
    # the snapshot reads every property; setup creates the "Xero" group's
    assert names == COMPANY_FIELDS and TABLES[COMPANIES] == names
    assert created == COMPANY_PROPERTY_NAMES
    assert tuple(spec.name for spec in SETUP_PROPERTIES) == created
    assert CONTACT_PROPERTIES == (XERO_CONTACT_ID,) and XERO_CONTACT_ID in COMPANY_PROPERTIES
    # the company action table has one column per property, after its own four
    actions = _load(MODELS / "reverse_etl" / "customers" / "hubspot_company_actions.yml")
    columns = [column["name"] for column in actions["models"][0]["columns"]]
    assert columns[:4] == ["action", "hs_company_id", "contact_id", "changed_properties"]
    assert tuple(columns[4:]) == names
    sql = (MODELS / "reverse_etl" / "customers" / "hubspot_company_actions.sql").read_text()
    assert "ref('hubspot_company_properties')" in sql
