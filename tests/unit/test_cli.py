import pytest
from typer.testing import CliRunner

from reverse_etl.app.cli import app

runner = CliRunner()


def test_help_lists_every_command_with_a_description():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "config",
        "setup",
        "extract",
        "transform",
        "push",
        "sync",
        "sandbox",
        "webhooks",
    ):
        assert command in result.output
    assert "Extract → transform → push" in result.output


def test_config_masks_secrets_and_announces_the_mode(monkeypatch):
    monkeypatch.setenv("XERO_CLIENT_ID", "client-abc")
    monkeypatch.setenv("XERO_CLIENT_SECRET", "super-secret-client-secret")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-secret-token-value")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("Live mode")
    assert "super-secret-client-secret" not in result.output
    assert "pat-na1-secret-token-value" not in result.output


def test_sandbox_mode_is_said_on_the_first_line():
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("Sandbox mode")


def test_half_set_configuration_is_one_clear_line_and_exit_1(monkeypatch):
    monkeypatch.setenv("XERO_CLIENT_ID", "client-abc")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 1
    assert "HUBSPOT_ACCESS_TOKEN" in result.output
    assert "Traceback" not in result.output


def test_stage_commands_refuse_to_run_during_a_sync(tmp_path, monkeypatch):
    from reverse_etl.core.lock import sync_lock

    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    with sync_lock(warehouse, purpose="sync"):
        for command in (["extract"], ["transform"], ["push", "--dry-run"]):
            result = runner.invoke(app, command)
            assert result.exit_code == 4, command
            assert "holds the lock" in result.output
    assert not warehouse.exists()


def test_version_and_exit_codes_in_help():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"invoice-sync {version('xero-hubspot-invoices')}"
    help_text = runner.invoke(app, ["sync", "--help"]).output
    for code in ("0 success", "1 failed", "2 usage error", "3 finished", "4 busy"):
        assert code in " ".join(help_text.split())


def test_usage_errors_exit_2_and_differ_from_every_run_outcome():
    from reverse_etl.core.errors import LockBusyError, RejectedRecordsError

    assert runner.invoke(app, ["sync", "--no-such-option"]).exit_code == 2
    assert runner.invoke(app, ["--log-level", "loud", "config"]).exit_code == 2
    codes = {1, RejectedRecordsError.exit_code, LockBusyError.exit_code}
    assert codes == {1, 3, 4}


def test_global_options_are_accepted_after_the_command():
    from reverse_etl.app.cli_options import hoist_global_options

    assert hoist_global_options(["sync", "-q", "--log-level", "debug", "--dry-run"]) == [
        "-q",
        "--log-level",
        "debug",
        "sync",
        "--dry-run",
    ]
    assert hoist_global_options(["push", "--log-level=warning", "-v"]) == [
        "--log-level=warning",
        "-v",
        "push",
    ]
    quiet = runner.invoke(app, ["setup", "--quiet"])  # parsed, not "No such option"
    assert "No such option" not in quiet.output
    result = runner.invoke(app, ["config", "--log-level", "warning", "-v"])
    assert result.exit_code == 0, result.output


def test_since_shows_a_date_metavar_not_strftime_patterns():
    for command in ("sync", "extract"):
        text = runner.invoke(app, [command, "--help"]).output
        assert "YYYY-MM-DD" in text and "%Y" not in text


def test_sync_passes_dry_run_and_since_and_refuses_them_with_every(monkeypatch):
    from datetime import date

    from reverse_etl.app import sync

    seen = {}

    def fake_once(settings, **kwargs):
        seen.update(kwargs)
        return sync.SyncReport()

    monkeypatch.setattr(sync, "run_sync_once", fake_once)
    result = runner.invoke(app, ["sync", "--dry-run", "--since", "2026-01-31"])
    assert result.exit_code == 0, result.output
    assert seen["dry_run"] is True and seen["since"] == date(2026, 1, 31)
    refused = runner.invoke(app, ["sync", "--every", "1h", "--dry-run"])
    assert refused.exit_code == 1 and "without --every" in refused.output


@pytest.mark.parametrize("command", ["sync", "extract"])
@pytest.mark.parametrize("since", ["0001-01-01", "1899-12-31", "2999-01-01"])
def test_since_out_of_range_is_a_usage_error_before_any_call(monkeypatch, command, since):
    from reverse_etl.app import sync

    def never(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(sync, "run_sync_once", never)
    monkeypatch.setattr("pipelines.run.run_extract", never)
    result = runner.invoke(app, [command, "--since", since])
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.output.splitlines() if "--since" in x]
    assert f"Invalid value for '--since': {since}: use 1900-01-01 to today (UTC)." in line
    assert "Traceback" not in result.output


def test_since_today_and_1900_are_accepted(monkeypatch):
    from datetime import UTC, datetime

    from reverse_etl.app import sync

    seen = []
    monkeypatch.setattr(
        sync, "run_sync_once", lambda s, **kw: seen.append(kw["since"]) or sync.SyncReport()
    )
    today = datetime.now(UTC).date()
    for since in ("1900-01-01", today.isoformat()):
        result = runner.invoke(app, ["sync", "--since", since])
        assert result.exit_code == 0, result.output
    assert [d.isoformat() for d in seen] == ["1900-01-01", today.isoformat()]


def test_json_summary_of_a_failed_command_is_still_one_object(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "missing.duckdb"))
    result = runner.invoke(app, ["transform", "--json"])
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["outcome"] == "failed" and summary["command"] == "transform"
    assert summary["errors"][0]["type"] == "TransformError"
    assert summary["errors"][0]["stage"] == "transform"


def test_config_shows_the_mirroring_policy(monkeypatch):
    monkeypatch.setenv("HUBSPOT_INCLUDE_DRAFTS", "true")
    monkeypatch.setenv("HUBSPOT_INVOICE_TYPES", "accrec,ACCPAY")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    assert "HUBSPOT_INCLUDE_DRAFTS" in result.output and "ACCREC,ACCPAY" in result.output
    monkeypatch.setenv("HUBSPOT_INCLUDE_VOIDED", "maybe")
    bad = runner.invoke(app, ["config"])
    assert bad.exit_code == 1 and "HUBSPOT_INCLUDE_VOIDED" in bad.output


def test_errors_and_verbose_tracebacks_show_control_characters_visibly(monkeypatch):
    from reverse_etl.app import sync
    from reverse_etl.core.errors import HubSpotError

    def fails(settings, **kwargs):
        raise HubSpotError("HubSpot refused INV-\x1b]52;c;cm0=\x07 [red]x[/red]\x9b")

    monkeypatch.setattr(sync, "run_sync_once", fails)
    for args in (["sync"], ["-v", "sync"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert not any(c in result.output for c in "\x1b\x07\x9b"), result.output
        assert "HubSpot refused INV-\\x1b]52;c;cm0=\\x07 [red]x[/red]\\x9b" in result.output
    assert "Traceback" in result.output  # -v still shows where


def test_the_json_summary_carries_api_text_exactly_but_no_raw_control_character(monkeypatch):
    import json

    from reverse_etl.app import sync
    from reverse_etl.core.errors import HubSpotError

    message = "HubSpot refused Ørsted INV-\x1b[2J\x9b\u202e"

    def fails(settings, **kwargs):
        raise HubSpotError(message)

    monkeypatch.setattr(sync, "run_sync_once", fails)
    result = runner.invoke(app, ["sync", "--json"])
    assert result.exit_code == 1
    assert not any(c in result.stdout for c in "\x1b\x9b\u202e"), result.stdout
    assert json.loads(result.stdout)["errors"][0]["message"] == message
