"""Records in quarantine at the end of a sync: logged every run, alerted once per bad version."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.quarantine import QUARANTINE_COLUMNS
from reverse_etl.app.sync import SyncReport
from reverse_etl.core.errors import QuarantinedRecordsError, RejectedRecordsError
from reverse_etl.core.settings import Settings, load_settings
from reverse_etl.push.quarantine_report import report_quarantine

BAD = "6f3c8c5e-1111-4222-8333-944444444444"
TYPES = {"text": "varchar", "timestamp": "timestamptz", "bool": "boolean"}


def _settings(path: Path) -> Settings:
    return load_settings(
        {"WAREHOUSE_PATH": str(path), "ALERT_URLS": "json://127.0.0.1:9/alerts"},
        dotenv_path=None,
    )


def _quarantine(path: Path, source_updated: str) -> None:
    with duckdb.connect(str(path)) as con:
        columns = ", ".join(f"{n} {TYPES[h['data_type']]}" for n, h in QUARANTINE_COLUMNS.items())
        con.execute("create schema if not exists raw_xero")
        con.execute(f"create table if not exists raw_xero.quarantine ({columns})")
        con.execute("delete from raw_xero.quarantine")
        con.execute(
            "insert into raw_xero.quarantine (resource, tenant_id, record_key, record_id, "
            "record_name, field, error, fix, source_updated, quarantined_at) "
            "values ('invoices', 't-1', ?, ?, 'INV-[/x]', 'Status', "
            "'''ON_HOLD'' is not a Xero invoice Status', 'correct the invoice in Xero', ?, ?)",
            [BAD, BAD, source_updated, datetime(2026, 11, 30, tzinfo=UTC)],
        )


def test_logged_every_run_alerted_once_per_bad_version(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    sent: list[tuple[str, str]] = []

    def notify(_url: str, title: str, body: str) -> bool:
        sent.append((title, body))
        return True

    _quarantine(path, "/Date(1)/")
    first = report_quarantine(_settings(path), "run-1", notify=notify)
    second = report_quarantine(_settings(path), "run-2", notify=notify)
    assert [r.record_id for r in first] == [BAD] and len(second) == 1
    assert len(sent) == 1
    title, body = sent[0]
    assert "1 record(s) quarantined" in title and BAD in body and "INV-[/x]" in body
    assert "correct the invoice in Xero" in body

    _quarantine(path, "/Date(2)/")  # changed in Xero, still bad: a new version, alerted again
    report_quarantine(_settings(path), "run-3", notify=notify)
    assert len(sent) == 2
    with duckdb.connect(str(path)) as con:
        runs = con.execute(
            "select run_id from sync_log.quarantine where record_id = ? order by run_id", [BAD]
        ).fetchall()
    assert runs == [("run-1",), ("run-2",), ("run-3",)]

    with duckdb.connect(str(path)) as con:
        con.execute("delete from raw_xero.quarantine")  # Xero corrected it; the extract released it
    assert report_quarantine(_settings(path), "run-4", notify=notify) == []


def test_a_sync_with_records_in_quarantine_exits_2_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    _quarantine(path, "/Date(1)/")
    records = report_quarantine(_settings(path), "run-1", notify=lambda *_: True)
    with pytest.raises(QuarantinedRecordsError) as error:
        SyncReport(quarantined=records).raise_for_problems()
    assert error.value.exit_code == 3
    assert BAD in str(error.value) and "sync_log.quarantine" in str(error.value)

    class Push:
        def raise_for_rejections(self) -> None:
            raise RejectedRecordsError("HubSpot rejected 1 invoice(s): X.")

    with pytest.raises(RejectedRecordsError, match=BAD):
        SyncReport(push=Push(), quarantined=records).raise_for_problems()
