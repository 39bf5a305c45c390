"""A fresh process building a new warehouse file reuses dbt's last parse (issue 19).

dbt keeps a parse for the next process (``partial_parse.msgpack``) only while the profile's
connection details are unchanged; the parse is told a placeholder for the DuckDB file
(``reverse_etl.core.dbt_invocation.parse_placeholder``), so a warehouse at another path does not
cost a full parse. dbt's ``perf_info.json`` says how many files the parse read
(``parsed_path_count``: every file on a full parse, none when nothing changed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reverse_etl.core import dbt_invocation


def _parse(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """A parse as a new process does it: this process's manifests forgotten."""
    monkeypatch.setattr(dbt_invocation, "_MANIFESTS", {})
    return dbt_invocation.parsed_manifest(warehouse, {"as_of_date": "2026-01-31"})


def test_a_new_warehouse_file_reuses_the_last_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))

    first = _parse(tmp_path / "a" / "invoices.duckdb", monkeypatch)
    full = json.loads((target / "perf_info.json").read_text())
    second = _parse(tmp_path / "b" / "invoices.duckdb", monkeypatch)
    reused = json.loads((target / "perf_info.json").read_text())

    assert full["parsed_path_count"] > 100  # the first parse read the project
    assert reused["parsed_path_count"] == 0  # the second took it from the first
    assert first is not None and second is not None
    model = "model.xero_hubspot_invoices.fct_invoices"
    assert second.nodes[model].database == first.nodes[model].database == "invoices"
    # the placeholder is a name, never a file: parsing opens no database
    assert not (target / "parse").exists()
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
