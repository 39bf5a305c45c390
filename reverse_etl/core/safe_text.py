"""Text from Xero or HubSpot made safe to print: one function, :func:`printable`.

An invoice number, a contact name or an API's error message is data someone else typed. On a
terminal, control characters in it are instructions: ``ESC [2J`` clears the screen, an OSC 52
sequence (``ESC ] 52 ; c ; <base64> BEL``) writes the user's clipboard, a lone ``\\r`` rewrites
the line before it, and C1's single-byte CSI (U+009B) does what ``ESC [`` does on terminals
that honour C1 (OWASP "Log Injection"; ECMA-48 for the C0 and C1 sets; xterm's control
sequences for OSC 52). :func:`printable` shows every such character as a visible escape
(``\\x1b``, ``\\x9b``, ``\\r``), along with Unicode's bidirectional overrides and line
separators (the "Trojan Source" characters, CVE-2021-42574), which reorder or break what is
shown.

Rich markup is the other half: the tool's consoles print with ``markup=False`` (or through
:class:`rich.text.Text`), so ``[red]`` in a reference prints as itself; ``markup=True`` also
escapes it, for the rare string that is printed *as* markup.

Every log line goes through :class:`PrintableFormatter` (installed by the CLI), so a value
logged anywhere — our modules, dlt, dbt — reaches stderr with its control characters visible.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from rich.markup import escape

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# C0 (U+0000-U+001F), DEL and C1 (U+0080-U+009F); Unicode's bidi embeddings, overrides and
# isolates (U+202A-U+202E, U+2066-U+2069), marks (U+200E, U+200F, U+061C) and the line and
# paragraph separators (U+2028, U+2029).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_UNSAFE_KEEPING_NEWLINES = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]"
)


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(value: object, *, markup: bool = False, keep_newlines: bool = False) -> str:
    """``value`` as text that prints as itself: every control character shown as a visible
    escape (``\\x1b[2J`` comes out as the six characters ``\\x1b[2J``), newlines included
    unless ``keep_newlines`` (a multi-line message of our own, a traceback). ``markup``: also
    escape Rich markup, for text printed as markup."""
    text = value if isinstance(value, str) else str(value)
    pattern = _UNSAFE_KEEPING_NEWLINES if keep_newlines else _UNSAFE
    text = pattern.sub(_visible, text)
    return escape(text) if markup else text


class PrintableFormatter(logging.Formatter):
    """A log line with every control character made visible: in the ``%s`` arguments (the
    values), newlines too, so a value cannot forge a log line; in the line as a whole all but
    its newlines (a traceback, a message of several lines)."""

    def format(self, record: logging.LogRecord) -> str:
        if record.args:
            record = logging.makeLogRecord(record.__dict__)  # other handlers see the original
            record.args = _printable_args(record.args)
        return printable(super().format(record), keep_newlines=True)


def _printable_args(args: tuple[object, ...] | Mapping[str, object]) -> Any:
    if isinstance(args, Mapping):
        return {k: printable(v) if isinstance(v, str) else v for k, v in args.items()}
    return tuple(printable(v) if isinstance(v, str) else v for v in args)
