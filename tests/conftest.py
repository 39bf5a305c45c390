"""Shared fixtures: a clean environment per test, a temp warehouse, the sandboxes.

Sandbox servers are started once per session on free ports (in-process, real HTTP) and reset
before each test that uses them; their URLs reach the code under test through configuration.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.xero",
    "tests.fixtures.hubspot",
    "tests.fixtures.postgres",
    "tests.fixtures.parallel",
]

CONTRACT_PREFIXES = (
    "XERO_",
    "HUBSPOT_",
    "WAREHOUSE_PATH",
    "WAREHOUSE_URL",
    "ANALYTICS_PATH",
    "ALERT_URLS",
    "INVOICE_SYNC_",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test sees the developer's credentials, and none writes into the repo's warehouse."""
    for name in list(os.environ):
        if name.startswith(CONTRACT_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture(autouse=True)
def default_output_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's output options (``--verbose``, ``--quiet``, ``--json``) live in a module-level
    dict that each invocation of the app sets; a test running a command without the app
    (tests/unit/test_failures_and_output.py) saw what the previous test in the process left
    (a full traceback after a ``--verbose`` run). Reset for each test, so that no test depends
    on which test ran before it (its order differs under pytest-xdist)."""
    from reverse_etl.app import cli_runner

    for option in ("verbose", "quiet", "json"):
        monkeypatch.setitem(cli_runner.state, option, False)


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "invoices.duckdb"
