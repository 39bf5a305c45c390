"""A webhook batch goes through the one orchestrator (reverse_etl/app/orchestrator.py), as the
hourly sync does: it leaves its row in ``sync_log.runs``, closed with its outcome, on a real
DuckDB file. The stages (extract by id, fast path, push) are stubbed: they have e2e tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from reverse_etl.app import webhook_batch
from reverse_etl.core.errors import LockBusyError
from reverse_etl.core.lock import sync_lock
from reverse_etl.core.settings import Settings, load_settings


@dataclass
class Extract:
    load_ids: list[str] = field(default_factory=lambda: ["load-1"])


@dataclass
class Build:
    invocation_id: str = "dbt-invocation-1"


@dataclass
class Push:
    status: str = "success"
    rejected: int = 0

    def raise_for_rejections(self) -> None:
        return None


class FastPath:
    def __init__(self) -> None:
        self.built: list[list[str]] = []

    def build(self, _settings: Settings, ids: list[str]) -> Build:
        self.built.append(ids)
        return Build()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(webhook_batch, "run_xero_extract", lambda _s, invoice_ids: Extract())
    return load_settings({"WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}, dotenv_path=None)


def runs(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path)) as con:
        return con.execute(
            "select command, status, stage, build_scope, dlt_load_ids, dbt_invocation_id, "
            "stage_seconds, error, finished_at is not null from sync_log.runs"
        ).fetchall()


def test_a_webhook_batch_leaves_its_row_in_the_run_log(settings, monkeypatch):
    pushed: list[str] = []
    monkeypatch.setattr(
        webhook_batch,
        "run_push",
        lambda _s, run_id, actions_schema: pushed.append(actions_schema) or Push(),
    )
    fast_path = FastPath()
    report = webhook_batch.sync_invoices(settings, ["b", "a", "b"], fast_path=fast_path)

    assert fast_path.built == [["a", "b"]]
    assert pushed == ["webhook_reverse_etl"]
    ((command, status, stage, scope, loads, invocation, seconds, error, finished),) = runs(settings)
    assert (command, status, stage, scope) == ("webhook", "success", "done", "webhook")
    assert (loads, invocation, error, finished) == (["load-1"], "dbt-invocation-1", None, True)
    assert set(json.loads(seconds)) == {"extract", "transform", "push"}
    assert report.freshness is None  # measured by the hourly run, not per batch


def test_a_failed_webhook_batch_is_logged_failed_at_its_stage(settings, monkeypatch):
    def push_fails(*_a, **_k):
        raise RuntimeError("HubSpot is down")

    monkeypatch.setattr(webhook_batch, "run_push", push_fails)
    with pytest.raises(RuntimeError, match="HubSpot is down"):
        webhook_batch.sync_invoices(settings, ["a"], fast_path=FastPath())

    ((command, status, stage, scope, _, _, seconds, error, finished),) = runs(settings)
    assert (command, status, stage, scope) == ("webhook", "failed", "push", "webhook")
    assert error == "RuntimeError: HubSpot is down" and finished
    assert set(json.loads(seconds)) == {"extract", "transform", "push"}


def test_a_webhook_batch_is_refused_while_another_run_holds_the_lock(settings):
    with sync_lock(settings.warehouse_path), pytest.raises(LockBusyError):
        webhook_batch.sync_invoices(settings, ["a"], fast_path=FastPath())
    assert not settings.warehouse_path.exists() or runs(settings) == []
