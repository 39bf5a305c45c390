"""A bad Xero record is quarantined, named and retried; it never blocks the others (issue 10).

Each case poisons one invoice through the emulator's raw override (``corrupt_invoice``: the API
serves the value, the stored invoice is unchanged) and later corrects it (``restore_invoice``:
Xero fixed it, ``UpdatedDateUTC`` moves), over real HTTP into a real DuckDB file.
"""

from __future__ import annotations

import json
import logging
import stat
from decimal import Decimal
from pathlib import Path

import pytest

import pipelines.xero.records as records
from pipelines.run import run_xero_extract
from reverse_etl.core.errors import InvoiceSyncError, RecordParseError
from tests.extract.conftest import ExtractEnv

POISONS = [
    pytest.param("Status", "ON_HOLD", "Status", id="unknown-status"),
    pytest.param("Type", "ACCRECX", "Type", id="unknown-type"),
    pytest.param("Total", 10**30, "Total", id="amount-too-large-for-decimal-38-9"),
    pytest.param("LineItems.0.LineAmount", -(10**31), "LineItems[0].LineAmount", id="line"),
    pytest.param("SubTotal", 1.2345678901, "SubTotal", id="ten-decimal-places"),
    pytest.param("Total", "12,50", "Total", id="not-a-number"),
    pytest.param("Date", "/Date(99999999999999999+0000)/", "Date", id="absurd-milliseconds"),
    pytest.param("DueDate", "/Date(253402300800000+0000)/", "DueDate", id="year-10000"),
    pytest.param("DueDate", "0001-01-01T00:00:00", "DueDate", id="year-1"),
    pytest.param("UpdatedDateUTC", "/Date(yesterday)/", "UpdatedDateUTC", id="bad-stamp"),
    pytest.param("InvoiceID", None, "InvoiceID", id="no-id"),
]


def _row(env: ExtractEnv, invoice_id: str) -> tuple[object, ...]:
    return env.query(
        "select status, reference, total, updated_date_utc from raw_xero.invoices "
        "where invoice_id = ?",
        invoice_id,
    )[0]


@pytest.mark.parametrize(("field", "value", "named"), POISONS)
def test_bad_invoice_is_quarantined_named_and_released_when_xero_corrects_it(
    extract_env: ExtractEnv, field: str, value: object, named: str
) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(120)
    settings = env.settings(XERO_PAGE_SIZE="50")
    run_xero_extract(settings, client=env.xero_client(settings))
    ids = [row[0] for row in env.query("select invoice_id from raw_xero.invoices order by 1")]
    good, bad = ids[0], ids[1]
    bad_before = _row(env, bad)
    number = env.xero.emulator.invoice(bad)["InvoiceNumber"]

    env.xero.clock.advance(minutes=1)
    env.xero.emulator.edit(good, reference="edited")
    env.xero.emulator.corrupt_invoice(bad, field, value)
    report = run_xero_extract(settings, client=env.xero_client(settings))

    assert report.invoices_loaded == 1 and report.rejected == 1  # the good edit loaded
    assert _row(env, good)[1] == "edited"
    assert _row(env, bad) == bad_before  # the last good version stays; nothing half-loaded
    (line,) = report.quarantined
    assert named in line and number in line and "Fix:" in line
    if field != "InvoiceID":
        assert bad in line
    rows = env.query(
        "select record_id, record_name, field, error, payload from raw_xero.quarantine"
    )
    assert len(rows) == 1
    record_id, record_name, quarantined_field, error, payload = rows[0]
    assert record_id == (None if field == "InvoiceID" else bad)
    assert record_name == number and quarantined_field == named and error
    assert json.loads(payload)["InvoiceNumber"] == number

    # Unchanged in Xero: the next run does not fail on it, and it stays quarantined.
    env.xero.clock.advance(minutes=1)
    run_xero_extract(settings, client=env.xero_client(settings))  # re-reading it is harmless
    assert env.scalar("select count(*) from raw_xero.quarantine") == 1

    # Xero corrects it: the next run loads it and releases it, with no manual step.
    env.xero.clock.advance(minutes=1)
    env.xero.emulator.restore_invoice(bad)
    fixed = run_xero_extract(settings, client=env.xero_client(settings))
    assert fixed.rejected == 0 and fixed.invoices_loaded == 1
    assert env.scalar("select count(*) from raw_xero.quarantine") == 0
    status, _reference, total, updated = _row(env, bad)
    xero = env.xero.emulator.invoice(bad)
    assert status == xero["Status"] and total == Decimal(str(xero["Total"]))
    assert updated > bad_before[3]


def test_strict_mode_fails_the_run_naming_the_invoice_and_changes_nothing(
    extract_env: ExtractEnv,
) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(60)
    settings = env.settings(XERO_PAGE_SIZE="50")
    run_xero_extract(settings, client=env.xero_client(settings))
    before = env.query("select invoice_id, reference, updated_date_utc from raw_xero.invoices")
    good, bad = sorted(row[0] for row in before)[:2]
    env.xero.clock.advance(minutes=1)
    env.xero.emulator.edit(good, reference="edited")
    env.xero.emulator.corrupt_invoice(bad, "Status", "ON_HOLD")
    with pytest.raises(RecordParseError, match=bad) as error:
        run_xero_extract(settings, strict=True, client=env.xero_client(settings))
    assert "ON_HOLD" in str(error.value)
    after = env.query("select invoice_id, reference, updated_date_utc from raw_xero.invoices")
    assert sorted(after) == sorted(before)


def test_duplicate_invoice_in_one_page_keeps_the_newest_copy_and_warns(
    extract_env: ExtractEnv, caplog: pytest.LogCaptureFixture
) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(60)
    settings = env.settings(XERO_PAGE_SIZE="100")
    run_xero_extract(settings, client=env.xero_client(settings))
    invoice_id = env.query("select invoice_id from raw_xero.invoices order by 1 limit 1")[0][0]
    stale = env.xero.emulator.invoice(invoice_id)
    env.xero.clock.advance(minutes=1)
    env.xero.emulator.edit(invoice_id, reference="current")
    # Xero answers with the current invoice followed by an older copy of it, in one page.
    env.xero.emulator.duplicate_in_page(
        invoice_id,
        UpdatedDateUTC=stale["UpdatedDateUTC"],
        Reference="stale copy",
        **{"LineItems.0.Description": "stale line"},
    )
    with caplog.at_level(logging.WARNING, logger="pipelines.xero.source"):
        report = run_xero_extract(settings, client=env.xero_client(settings))
    (warning,) = report.duplicates
    assert invoice_id in warning and "twice in one page" in warning
    assert any(invoice_id in r.getMessage() for r in caplog.records)
    current = env.xero.emulator.invoice(invoice_id)
    assert (
        env.scalar("select reference from raw_xero.invoices where invoice_id = ?", invoice_id)
        == current["Reference"]
    )
    descriptions = env.query(
        "select l.description from raw_xero.invoices__line_items l "
        "join raw_xero.invoices i on l._dlt_root_id = i._dlt_id where i.invoice_id = ?",
        invoice_id,
    )
    assert "stale line" not in {d for (d,) in descriptions}
    assert len(descriptions) == len(current["LineItems"])


def test_a_load_that_fails_in_the_warehouse_heals_on_the_next_run(
    extract_env: ExtractEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The amount check off (as before the fix), a 10**30 discount (an amount no
    reconciliation of the contract looks at) reaches DuckDB and the load fails. dlt must abort
    that package and restore the cursor: the next run is not wedged and reads the good change
    of the failed run again."""
    env = extract_env
    env.xero.emulator.seed_demo(60)
    settings = env.settings(XERO_PAGE_SIZE="50")
    run_xero_extract(settings, client=env.xero_client(settings))
    good, bad = sorted(r[0] for r in env.query("select invoice_id from raw_xero.invoices"))[:2]
    env.xero.clock.advance(minutes=1)
    env.xero.emulator.edit(good, reference="edited")
    env.xero.emulator.corrupt_invoice(bad, "TotalDiscount", 10**30)

    monkeypatch.setattr(records, "_fits", lambda value: value)
    with pytest.raises(InvoiceSyncError, match="next run reads those records again"):
        run_xero_extract(settings, client=env.xero_client(settings))
    monkeypatch.undo()

    report = run_xero_extract(settings, client=env.xero_client(settings))
    assert report.rejected == 1 and bad in report.quarantined[0]
    assert (
        env.scalar("select reference from raw_xero.invoices where invoice_id = ?", good) == "edited"
    )


def test_loaded_packages_are_not_kept_and_warehouse_files_are_private(
    extract_env: ExtractEnv,
) -> None:
    env = extract_env
    env.xero.emulator.seed_demo(300)
    settings = env.settings(XERO_PAGE_SIZE="100")
    run_xero_extract(settings, client=env.xero_client(settings))
    env.xero.clock.advance(minutes=1)
    env.xero.emulator.activity(hours=1, seed=3)
    run_xero_extract(settings, client=env.xero_client(settings))

    dlt_dir = Path(settings.state_dir) / "dlt"
    loaded = [p for p in dlt_dir.rglob("*") if "loaded" in p.relative_to(dlt_dir).parts[:3]]
    assert [p for p in loaded if p.is_file()] == []
    for path in [dlt_dir, *dlt_dir.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert stat.S_IMODE(env.warehouse_path.stat().st_mode) == 0o600
    staged = env.query(
        "select table_name from information_schema.tables where table_schema = 'raw_xero_staging'"
    )
    for (table,) in staged:
        if table.startswith("_dlt"):
            continue
        assert env.scalar(f'select count(*) from raw_xero_staging."{table}"') == 0, table


def test_a_package_wedged_before_the_fix_is_discarded_and_the_same_run_goes_on(
    extract_env: ExtractEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse wedged by an older version (a failed package left pending, retried first by
    every run) heals on the first run of this one: the package is aborted, the cursor restored,
    and the run reads and loads the records again — quarantining the bad one."""
    env = extract_env
    env.xero.emulator.seed_demo(60)
    settings = env.settings(XERO_PAGE_SIZE="50")
    run_xero_extract(settings, client=env.xero_client(settings))
    good, bad = sorted(r[0] for r in env.query("select invoice_id from raw_xero.invoices"))[:2]
    env.xero.clock.advance(minutes=1)
    env.xero.emulator.edit(good, reference="edited")
    env.xero.emulator.corrupt_invoice(bad, "TotalDiscount", 10**30)

    monkeypatch.setattr(records, "_fits", lambda value: value)
    monkeypatch.setattr(records, "_LIMIT", Decimal(10) ** 40)
    monkeypatch.setenv("LOAD__AUTO_ABORT_ON_TERMINAL_ERROR", "false")  # the old behaviour
    for _ in range(2):  # wedged: every run fails on the same package
        with pytest.raises(InvoiceSyncError):
            run_xero_extract(settings, client=env.xero_client(settings))
    monkeypatch.undo()

    report = run_xero_extract(settings, client=env.xero_client(settings))
    assert report.rejected == 1 and bad in report.quarantined[0]
    assert (
        env.scalar("select reference from raw_xero.invoices where invoice_id = ?", good) == "edited"
    )
