"""Finance data is created owner-only from its first byte; the shared folders keep the user's
umask (reverse_etl.core.private_files). Each case runs in a child process: the umask is per
process, and pytest's own must stay as it was."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
from pathlib import Path


def _run(code: str, tmp_path: Path) -> str:
    script = "import os\nos.umask(0o022)\n" + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_warehouse_and_its_wal_are_owner_only_while_being_written(tmp_path: Path) -> None:
    out = _run(
        """
        import stat
        from pathlib import Path
        from reverse_etl.core.private_files import owner_only_files
        from pipelines.dataset_session import dataset_session
        from reverse_etl.core.warehouse import DuckDBWarehouse

        owner_only_files()
        warehouse = Path("shared/warehouse/invoices.duckdb")
        with dataset_session(DuckDBWarehouse(warehouse), "raw_xero") as session:
            session.execute("create schema raw_xero")
            session.execute("create table raw_xero.t as select range as i from range(1000)")
            wal = Path(str(warehouse) + ".wal")
            # modes while the connection is open, before anything could chmod them
            print(oct(stat.S_IMODE(warehouse.stat().st_mode)), wal.exists() and
                  oct(stat.S_IMODE(wal.stat().st_mode)))
        """,
        tmp_path,
    )
    database_mode, wal_mode = out.split()
    assert database_mode == "0o600"
    assert wal_mode in ("0o600", "False")  # DuckDB may have checkpointed already
    assert _mode(tmp_path / "shared") == 0o755  # the user's umask: analysts reach the folder
    assert _mode(tmp_path / "shared" / "warehouse") == 0o755


def test_the_cli_sets_the_owner_only_umask_before_any_command(tmp_path: Path) -> None:
    out = _run(
        """
        from typer.testing import CliRunner
        from reverse_etl.app.cli import app

        result = CliRunner().invoke(app, ["config"])
        mask = os.umask(0)
        print(oct(mask))
        """,
        tmp_path,
    )
    assert out.strip() == "0o77"  # 022 | 077


def test_a_published_copy_gets_its_group_mode_and_nothing_wider(tmp_path: Path) -> None:
    """Under the owner-only umask the analysts' copy is still given its documented 0640."""
    out = _run(
        """
        import os, stat
        from pathlib import Path
        import duckdb
        from reverse_etl.core.private_files import owner_only_files, shared_folder

        owner_only_files()
        shared_folder(Path("team/analytics"))
        path = Path("team/analytics/copy.duckdb")
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))
        print(oct(stat.S_IMODE(path.stat().st_mode)))
        """,
        tmp_path,
    )
    assert out.strip() == "0o600"  # created narrower than 0640, never wider
    assert _mode(tmp_path / "team" / "analytics") == 0o755
