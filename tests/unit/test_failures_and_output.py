"""One line, no markup, no traceback: how any failure reaches the user (issue 10, items 7, 9)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from reverse_etl.app import cli_runner
from reverse_etl.core.errors import (
    RejectedRecordsError,
    UnexpectedError,
    WarehouseBusyError,
    WarehouseError,
)
from reverse_etl.core.failures import as_project_error
from reverse_etl.hubspot.answers import parse_upsert_answer

runner = CliRunner()


def run_failing(exc: BaseException) -> tuple[int, str]:
    """Run a throwaway command whose work raises ``exc``, the way every command runs."""
    app = typer.Typer()

    @app.command()
    def boom() -> None:
        def work(_settings):
            raise exc

        cli_runner.run_command(work, announce=False)

    result = runner.invoke(app, [])
    return result.exit_code, result.output


def test_markup_in_an_error_message_is_printed_as_text_and_keeps_its_exit_code():
    code, output = run_failing(
        RejectedRecordsError("HubSpot rejected 1 invoice(s): INV-[/x] (total: bad [bold]).")
    )
    assert code == 3, output  # RejectedRecordsError keeps its exit code
    assert "INV-[/x]" in output and "[bold]" in output
    assert "MarkupError" not in output


def test_stage_labels_are_not_swallowed_as_markup(monkeypatch, tmp_path):
    from reverse_etl.app import sync

    class Stage:  # what the sync reads of each stage's report
        load_ids: tuple[str, ...] = ()
        invocation_id = None
        status = "success"
        rejected = 0

        def summary(self) -> str:
            return "INV-[/x] done [red]"

    import pipelines.run
    import reverse_etl.push.invoices
    import reverse_etl.transform

    monkeypatch.setattr(pipelines.run, "run_extract", lambda *a, **k: Stage())
    monkeypatch.setattr(reverse_etl.transform, "run_transform", lambda *a, **k: Stage())
    monkeypatch.setattr(reverse_etl.push.invoices, "run_push", lambda *a, **k: Stage())
    settings = cli_runner.load_settings(
        {"WAREHOUSE_PATH": str(tmp_path / "w.duckdb"), "XERO_CLIENT_ID": "a",
         "XERO_CLIENT_SECRET": "b", "HUBSPOT_ACCESS_TOKEN": "c"},
        dotenv_path=None,
    )  # fmt: skip
    console = Console(record=True, width=200)
    sync.run_sync_once(settings, console=console)
    text = console.export_text()
    for stage in ("[extract]", "[transform]", "[push]"):
        assert f"{stage} INV-[/x] done [red]" in text


def test_an_unexpected_exception_is_one_line_without_traceback():
    code, output = run_failing(KeyError("line_items"))
    assert code == 1
    assert output.strip().count("\n") == 0, output
    assert "Traceback" not in output and "UnexpectedError" in output and "line_items" in output


def test_a_busy_warehouse_is_named_even_when_dlt_wraps_it(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys
            con = duckdb.connect({str(path)!r})
            print("held", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.Error) as raised:
            duckdb.connect(str(path))
        wrapped = RuntimeError(
            "Connection with duckdb has failed. Please check if you configured the credentials "
            "at all and provided the right credentials values. You can be also denied access or "
            "your internet connection may be down."
        )
        wrapped.__cause__ = raised.value
        error = as_project_error(wrapped)
        assert isinstance(error, WarehouseBusyError)
        assert "busy" in str(error) and "credentials" not in str(error)
        code, output = run_failing(wrapped)
        assert code == 4 and output.strip().count("\n") == 0, output
        assert "WarehouseBusyError" in output and "Traceback" not in output
    finally:
        holder.communicate("", timeout=10)


def test_a_corrupt_warehouse_is_named(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    path.write_bytes(b"not a database" * 1000)
    with pytest.raises(duckdb.Error) as raised:
        duckdb.connect(str(path))
    error = as_project_error(raised.value)
    assert isinstance(error, WarehouseError) and "damaged" in str(error)


def test_a_read_only_warehouse_is_named():
    error = as_project_error(
        duckdb.IOException('IO Error: Cannot open file "/w.duckdb": Read-only file system')
    )
    assert isinstance(error, WarehouseError) and "cannot be written" in str(error)


def test_other_errors_keep_their_first_line_only():
    error = as_project_error(ValueError("first line\n  File x, line 3\n  more"))
    assert isinstance(error, UnexpectedError)
    assert str(error) == "ValueError: first line"


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        ["a", "list"],
        {"status": "COMPLETE", "results": "oops", "errors": {"message": "x"}},
        {"results": [None, 3, {"properties": {}}], "errors": ["text", {"context": "id-1"}]},
    ],
)
def test_malformed_batch_answers_are_read_without_raising(body):
    answer = parse_upsert_answer(207, body)
    assert answer.results == []
    assert answer.problems


def test_a_malformed_207_rejects_its_inputs_naming_the_problem():
    from reverse_etl.push.actions import Action
    from reverse_etl.push.invoice_batches import _read_batch_answer

    batch = [Action(f"id-{n}", "INSERT", None, (), {"invoice_number": f"INV-{n}"}) for n in (1, 2)]
    answer = parse_upsert_answer(
        207, {"status": "COMPLETE", "results": [{"id": "9", "properties": "garbled"}, 7]}
    )
    outcome = _read_batch_answer(batch, answer)
    assert outcome.written == []
    assert [r.xero_invoice_id for r in outcome.rejected] == ["id-1", "id-2"]
    assert all("malformed" in r.message and "not objects" in r.message for r in outcome.rejected)


def test_a_multi_line_project_error_is_printed_on_one_line():
    from reverse_etl.core.errors import TransformError

    code, output = run_failing(TransformError("dbt build failed:\n  model a\n  test b"))
    assert code == 1
    assert output.strip() == "TransformError: dbt build failed: model a test b"
