"""Progress of the long stages on a terminal: Xero pages read, dbt models and tests done.

Shown only when the console is a terminal (not when piped, under cron, with ``--quiet`` or
``--json``): a transient status line that disappears when the stage ends, so the stage's one
summary line stays the only thing left on screen. The push has its own bar
(:mod:`reverse_etl.push.display`). Text from the APIs is printed without Rich markup.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.status import Status
from rich.text import Text

from reverse_etl.core.safe_text import printable


class StageProgress:
    """Feed it ``extract(line)`` / ``transform(what, index, total)``; ``stop()`` after a stage."""

    def __init__(self, console: Console | None) -> None:
        self._console = console if console is not None and console.is_terminal else None
        self._status: Status | None = None

    @property
    def enabled(self) -> bool:
        return self._console is not None

    def _show(self, text: str) -> None:
        if self._console is None:
            return
        line = Text(printable(text))
        if self._status is None:
            self._status = self._console.status(line)
            self._status.start()
        else:
            self._status.update(line)

    def extract(self, line: str) -> None:
        self._show(line)

    def transform(self, what: str, index: int, total: int) -> None:
        self._show(f"dbt build: {index}/{total} {what}")

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def extract_hook(self) -> Callable[[str], None] | None:
        """For ``run_extract(progress=...)``: None when nothing is shown (no callback cost)."""
        return self.extract if self.enabled else None

    def transform_hook(self) -> Callable[[str, int, int], None] | None:
        """For ``run_transform(progress=...)``."""
        return self.transform if self.enabled else None
