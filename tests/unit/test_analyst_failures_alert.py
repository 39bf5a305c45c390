"""A failed test of an analyst-only mart is alerted by the sync (the push went on), by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reverse_etl.app.sync import _alert_analyst_failures
from reverse_etl.core.settings import load_settings
from reverse_etl.transform import TransformReport


def _report(failures: tuple[str, ...]) -> TransformReport:
    return TransformReport(1, 1, 0, 0, 0, 0.1, Path("w.duckdb"), analyst_failures=failures)


def test_analyst_failures_are_alerted_by_name_and_nothing_else_is(tmp_path: Path) -> None:
    settings = load_settings(
        {"WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "ALERT_URLS": "json://localhost/x"},
        dotenv_path=None,
    )
    sent: list[tuple[str, str, str]] = []

    def notify(url: str, title: str, body: str) -> bool:
        sent.append((url, title, body))
        return True

    line = "test not_null_fct_ar_aging_by_customer_contact_id fail: 1 failing row"
    _alert_analyst_failures(settings, _report((line,)), notify)
    ((url, title, body),) = sent
    assert url == "json://localhost/x" and "1 analyst test(s) failed" in title
    assert line in body and "push went on" in body

    _alert_analyst_failures(settings, _report(()), notify)
    _alert_analyst_failures(settings, None, notify)  # a skipped build has no transform
    assert len(sent) == 1


def test_a_broken_alert_target_never_fails_the_sync(tmp_path: Path) -> None:
    settings = load_settings(
        {"WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "ALERT_URLS": "json://localhost/x"},
        dotenv_path=None,
    )

    def broken(*_args: Any) -> bool:
        raise RuntimeError("plugin crashed")

    _alert_analyst_failures(settings, _report(("test x fail",)), broken)  # no exception
