"""Helpers of the soak tests: a process that holds the warehouse the way a DuckDB shell would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


class WarehouseHolder:
    """Another process with the DuckDB file open (DuckDB allows one writer process at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.process: subprocess.Popen[str] | None = None

    def hold(self) -> None:
        if self.process is not None:
            return
        code = textwrap.dedent(f"""
            import duckdb, sys
            con = duckdb.connect({str(self.path)!r})
            print("held", flush=True)
            sys.stdin.read()
        """)
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "held"

    def release(self) -> None:
        if self.process is None:
            return
        self.process.communicate("", timeout=30)
        self.process = None
