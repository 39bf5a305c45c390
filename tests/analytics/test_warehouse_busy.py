"""A working warehouse held open by another process: every opener raises WarehouseBusyError."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from reverse_etl.core.errors import TransformError, WarehouseBusyError
from reverse_etl.core.settings import load_settings
from reverse_etl.core.warehouse_busy import busy_error, describe_process, warehouse_busy_is_typed
from tests.analytics.conftest import held_open


@pytest.fixture
def settings(tmp_path: Path):
    warehouse = tmp_path / "warehouse" / "invoices.duckdb"
    warehouse.parent.mkdir()
    duckdb.connect(str(warehouse)).close()
    return load_settings({"WAREHOUSE_PATH": str(warehouse)}, dotenv_path=None)


def test_duckdbs_conflicting_lock_becomes_one_line_naming_the_holder_and_the_fix(settings):
    with held_open(settings.warehouse_path) as pid, pytest.raises(duckdb.Error) as caught:
        duckdb.connect(str(settings.warehouse_path))
    busy = busy_error(caught.value, settings.warehouse_path, settings.analytics_path)
    assert busy is not None and busy.pid == pid
    message = str(busy)
    assert "\n" not in message
    assert f"PID {pid}" in message and "python" in message
    assert str(settings.analytics_path) in message
    assert (
        busy_error(ValueError("unrelated"), settings.warehouse_path, settings.analytics_path)
        is None
    )


def test_the_cause_is_found_however_deeply_it_is_wrapped(settings):
    with held_open(settings.warehouse_path) as pid:
        try:
            duckdb.connect(str(settings.warehouse_path))
        except duckdb.Error as exc:
            try:
                raise TransformError(f"dbt build could not run: {exc}") from None
            except TransformError as wrapped:
                outer = RuntimeError("step failed")
                outer.exception = wrapped  # as dlt's PipelineStepFailed carries its cause
    found = busy_error(outer, settings.warehouse_path, settings.analytics_path)
    assert found is not None and found.pid == pid


def test_describe_process_reads_the_holders_command_line():
    assert "python" in (describe_process(os.getpid()) or "")
    assert describe_process(2**22 + 12345) is None


def test_the_push_on_a_held_warehouse(settings):
    from reverse_etl.push.invoices import run_push

    with (
        held_open(settings.warehouse_path) as pid,
        pytest.raises(WarehouseBusyError, match=f"PID {pid}"),
        warehouse_busy_is_typed(settings),
    ):
        run_push(settings)


def test_dbt_on_a_held_warehouse(settings):
    from reverse_etl.transform import run_transform

    with (
        held_open(settings.warehouse_path) as pid,
        pytest.raises(WarehouseBusyError, match=f"PID {pid}"),
        warehouse_busy_is_typed(settings),
    ):
        run_transform(settings)


def test_one_classifier_and_one_message_wherever_the_conflict_is_met(settings):
    """The opener (sync_log), the CLI edge and the loops (as_project_error) and the typed
    context (busy_error) classify DuckDB's conflict alike and word it alike (issue 21)."""
    from reverse_etl.core import sync_log
    from reverse_etl.core.failures import as_project_error

    with held_open(settings.warehouse_path) as pid:
        with pytest.raises(WarehouseBusyError) as opened:
            sync_log.connect_warehouse(settings.warehouse_path)
        with pytest.raises(duckdb.Error) as raw:
            duckdb.connect(str(settings.warehouse_path))
        classified = as_project_error(raw.value)
        typed = busy_error(raw.value, settings.warehouse_path)
        bare = busy_error(raw.value)
    assert isinstance(classified, WarehouseBusyError) and typed is not None and bare is not None
    assert opened.value.pid == classified.pid == typed.pid == pid
    assert str(opened.value) == str(typed)
    assert str(classified) == str(bare)
    for error in (opened.value, classified, typed):
        assert "is busy: another process has it open (python" in str(error)
        assert f"PID {pid}), so this run stopped there" in str(error)
