"""The Xero tables imported as files (pipelines/dlt_import.py) equal dlt's normalized load:
the flat tables, and the invoices with their line items (dlt's nested table).

A backfill and an incremental run after an hour of business, each into two warehouses from one
emulator: one with every row through dlt's normalize (as before), one with the direct import.
Files are rotated every few hundred rows here, so a table spans several imported files.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dlt.common.normalizers.json.helpers import get_nested_row_hash

from pipelines import dlt_import
from pipelines.run import run_xero_extract
from reverse_etl.core.errors import XeroError
from tests.extract import compare_backfill_tables as compare
from tests.extract.conftest import ExtractEnv

PAYMENTS = "/api.xro/2.0/Payments"


def test_backfill_and_incremental_tables_equal_the_normalized_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported: list[str] = []
    nested: list[str] = []
    hand_over = dlt_import.FileImport._hand_over
    write_nested = dlt_import.FileImport._write_nested

    def counting(self: dlt_import.FileImport, table: str) -> object:
        imported.append(table)
        return hand_over(self, table)

    def counting_nested(self: dlt_import.FileImport, table: str, *args: Any) -> None:
        nested.append(table)
        write_nested(self, table, *args)

    def prepare(emulator: Any) -> None:
        first, second = sorted(inv.invoice_id for inv in emulator.invoices())[:2]
        # a text starting with a typed-JSON tag: its page takes dlt's own path
        emulator.corrupt_invoice(first, "Reference", dlt_import._TAGS[0] + "12.50")
        emulator.corrupt_invoice(second, "Total", "12,50")  # quarantined on both paths

    monkeypatch.setattr(dlt_import, "ROWS_PER_FILE", 300)
    monkeypatch.setattr(dlt_import.FileImport, "_hand_over", counting)
    monkeypatch.setattr(dlt_import.FileImport, "_write_nested", counting_nested)
    report = compare.compare(1200, 2, 100, tmp_path, prepare)

    assert report["backfill"]["differences"] == []
    assert report["incremental"]["differences"] == []
    assert report["backfill"]["loaded"] == [1199, 1199]  # one quarantined
    assert report["incremental"]["loaded"][0] == report["incremental"]["loaded"][1] > 0
    # the direct path did run, in several files for the big tables
    assert imported.count("invoice_versions") >= 4
    assert {"payments", "allocations", "contacts", "credit_versions"} <= set(imported)
    assert imported.count("invoices") >= 4
    assert nested and set(nested) == {"invoices__line_items"}
    with duckdb.connect(str(tmp_path / "after" / "wh.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw_xero.quarantine").fetchone() == (1,)
    # the line items' ids are dlt's own: the hash of the root row's id, table and position
    for side in ("before", "after"):
        with duckdb.connect(str(tmp_path / side / "wh.duckdb"), read_only=True) as con:
            lines = con.execute(
                "select _dlt_root_id, _dlt_parent_id, _dlt_list_idx, _dlt_id "
                "from raw_xero.invoices__line_items"
            ).fetchall()
        assert len(lines) > 1200
        for root, parent, index, row_id in lines:
            assert root == parent
            assert row_id == get_nested_row_hash(root, "invoices__line_items", index), side


def test_a_page_holding_a_tag_character_is_seen_in_any_form() -> None:
    assert not dlt_import.page_has_tags('{"Name": "Ōtautahi Print Co"}'.encode())
    for tag in dlt_import._TAGS:
        escaped = f"\\u{ord(tag):04x}"
        for text in (tag, escaped, escaped.upper().replace("\\U", "\\u")):
            assert dlt_import.page_has_tags(f'{{"Reference": "{text}1"}}'.encode()), text


def test_the_comparison_sees_a_changed_value_and_a_missing_row(tmp_path: Path) -> None:
    report_dir = tmp_path / "run"
    compare.compare(200, 1, 100, report_dir)
    before = report_dir / "before" / "wh.duckdb"
    after = report_dir / "after" / "wh.duckdb"
    assert compare.differences(before, after) == []

    changed = tmp_path / "changed.duckdb"
    shutil.copy(after, changed)
    with duckdb.connect(str(changed)) as con:
        con.execute(
            "update raw_xero.payments set amount = amount + 0.01 "
            "where payment_id = (select min(payment_id) from raw_xero.payments)"
        )
        con.execute("delete from raw_xero.invoice_versions where rowid = 0")
        # a line item moved to another invoice (its values unchanged)
        con.execute(
            "update raw_xero.invoices__line_items set _dlt_root_id = i._dlt_id, "
            "_dlt_parent_id = i._dlt_id from (select _dlt_id from raw_xero.invoices "
            "where _dlt_id <> (select _dlt_root_id from raw_xero.invoices__line_items "
            "where rowid = 0) limit 1) i where invoices__line_items.rowid = 0"
        )
    found = compare.differences(before, changed)
    assert any(line.startswith("payments: 1 rows only before, 1 only after") for line in found)
    assert any(line.startswith("invoice_versions: ") for line in found)
    assert any(line.startswith("invoices__line_items: 1 rows only before") for line in found)


@pytest.mark.parametrize(("destination", "imports"), [("duckdb", True), ("postgres", False)])
def test_rows_are_imported_only_where_the_destination_loads_jsonl(
    tmp_path: Path, destination: str, imports: bool
) -> None:
    seen: list[bool] = []

    def read(files: dlt_import.FileImport) -> Any:
        seen.append(files.enabled)
        yield from ()

    pipeline = dlt.pipeline(
        pipeline_name=f"imports_{destination}",
        pipelines_dir=str(tmp_path),
        destination=destination,
    )
    pipeline.extract(dlt.resource(lambda: dlt_import.with_imports(read), name="rows"))
    assert seen == [imports]


def test_a_failed_extract_drops_the_line_items_it_had_attached(
    extract_env: ExtractEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line items' files join the package while it is extracted: a later failure drops
    them with it, and the next run loads every invoice with its line items."""
    env = extract_env
    env.xero.emulator.seed_demo(250)
    attached: list[str] = []
    attach = dlt_import._attach

    def counting(load_id: str, path: Path) -> None:
        attached.append(path.name.split(".")[0])
        attach(load_id, path)

    monkeypatch.setattr(dlt_import, "ROWS_PER_FILE", 100)
    monkeypatch.setattr(dlt_import, "_attach", counting)
    # the finance reads follow the invoices': a failure there comes after the invoices' files
    env.xero.emulator.faults.add("status", status=500, path_prefix=PAYMENTS, times=None)
    settings = env.settings(XERO_CALLS_PER_MINUTE="10000")
    with pytest.raises(XeroError, match="500"):
        run_xero_extract(settings, client=env.xero_client(settings, max_retries=1))
    assert attached and set(attached) == {"invoices__line_items"}
    assert "raw_xero.invoices__line_items" not in env.tables()

    env.xero.emulator.faults.clear()
    report = run_xero_extract(settings, client=env.xero_client(settings))
    assert report.invoices_loaded == 250
    lines = sum(len(inv.lines) for inv in env.xero.emulator.invoices())
    assert env.query("select count(*) from raw_xero.invoices__line_items") == [(lines,)]
    orphans = env.query(
        "select count(*) from raw_xero.invoices__line_items l left join raw_xero.invoices i "
        "on i._dlt_id = l._dlt_root_id where i.invoice_id is null"
    )
    assert orphans == [(0,)]
