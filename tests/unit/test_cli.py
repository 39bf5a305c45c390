from typer.testing import CliRunner

from reverse_etl.cli import app

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
    from reverse_etl.lock import sync_lock

    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    with sync_lock(warehouse, purpose="sync"):
        for command in (["extract"], ["transform"], ["push", "--dry-run"]):
            result = runner.invoke(app, command)
            assert result.exit_code == 1, command
            assert "holds the lock" in result.output
    assert not warehouse.exists()
