"""A sync killed (SIGKILL) during its publish is not logged as a success."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from typer.testing import CliRunner

from reverse_etl.app.cli import app
from tests.e2e.conftest import make_world

# The sync, with its publish held open once the copy is written (so the kill lands inside it).
SLOW_PUBLISH = (
    "import sys, time\n"
    "from reverse_etl.analysts import publish\n"
    "check = publish._check_views_bind\n"
    "publish._check_views_bind = lambda con: (time.sleep(60), check(con))\n"
    "from reverse_etl.app.cli import app\n"
    "sys.argv = ['invoice-sync', 'sync']\n"
    "app()\n"
)


def test_a_sync_killed_during_publish_is_not_a_success(
    xero_sandbox, hubspot_sandbox, warehouse_path, monkeypatch, tmp_path
):
    world = make_world(xero_sandbox, hubspot_sandbox, warehouse_path, monkeypatch, invoices=30)
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_PUBLISH],
        env={**os.environ, **world.env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    folder = warehouse_path.parent
    deadline = time.monotonic() + 240
    while not list(folder.glob(".analytics.duckdb.*.publishing")):
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "the publish never started"
        time.sleep(0.05)
    time.sleep(0.5)  # inside the held step: the push is over, the copy is being written
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert world.hubspot_records(), "the push should have finished before the publish"

    ((killed_id, status, stage, finished_at),) = world.query(
        "select run_id, status, stage, finished_at from sync_log.runs"
    )
    assert (status, stage, finished_at) == ("running", "publish", None)

    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    runs = dict(
        (run_id, (status, error))
        for run_id, status, error in world.query("select run_id, status, error from sync_log.runs")
    )
    status, error = runs.pop(killed_id)
    assert status == "failed" and error.startswith("interrupted"), (status, error)
    assert [status for status, _ in runs.values()] == ["success"]
    assert not list(folder.glob(".analytics.duckdb.*"))  # the killed copy was cleared
