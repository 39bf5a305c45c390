"""printable(): text from Xero or HubSpot never reaches a terminal or a log line raw."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console
from rich.text import Text

from reverse_etl.core.safe_text import PrintableFormatter, printable

CLEAR_SCREEN = "INV-\x1b[2J\x1b[H"
OSC_52 = "INV-\x1b]52;c;cm0gLXJmIH4=\x07"  # writes the clipboard
C1_CSI = "INV-\x9b31mred"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (CLEAR_SCREEN, "INV-\\x1b[2J\\x1b[H"),
        (OSC_52, "INV-\\x1b]52;c;cm0gLXJmIH4=\\x07"),
        (C1_CSI, "INV-\\x9b31mred"),
        ("paid\roverdue", "paid\\roverdue"),
        ("a\nb\tc\x00d\x7fe", "a\\nb\\tc\\x00d\\x7fe"),
        ("invoice\u202eexe.pdf", "invoice\\u202eexe.pdf"),  # a bidi override
        ("one\u2028two", "one\\u2028two"),
        ("Ørsted & Søn [red]PO 7[/red] – 12,50 €", "Ørsted & Søn [red]PO 7[/red] – 12,50 €"),
        (12.5, "12.5"),
    ],
)
def test_control_characters_become_visible_and_the_rest_is_untouched(raw, shown):
    assert printable(raw) == shown


def test_nothing_unsafe_is_left_in_any_character():
    every = "".join(chr(c) for c in range(0x3000))
    out = printable(every)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)
    assert not any(c in out for c in "\u061c\u200e\u200f\u2028\u2029\u202a\u202e\u2066\u2069")


def test_newlines_kept_on_request_and_markup_escaped_on_request():
    assert printable("a\nb\x1b", keep_newlines=True) == "a\nb\\x1b"
    assert printable("[red]x[/red]\x1b", markup=True) == "\\[red]x\\[/red]\\x1b"
    console = Console(file=io.StringIO(), force_terminal=True, color_system=None)
    console.print(printable("[bold]INV\x1b[2J[/bold]", markup=True))
    assert console.file.getvalue() == "[bold]INV\\x1b[2J[/bold]\n"


def test_a_rich_text_of_it_prints_no_escape_character():
    console = Console(file=io.StringIO(), force_terminal=True, color_system=None, width=200)
    console.print(Text(printable(OSC_52 + CLEAR_SCREEN + C1_CSI)))
    written = console.file.getvalue()
    assert "\x1b" not in written and "\x07" not in written and "\x9b" not in written
    assert "INV-\\x1b]52;c;" in written


def test_every_log_line_is_made_printable_and_values_cannot_forge_a_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PrintableFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.safe_text")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Invoice %s quarantined", "INV-1\nERROR forged line\x1b[2J")
        logger.warning(f"f-string {OSC_52}")
        logger.warning("mapping %(n)s", {"n": C1_CSI})
        try:
            raise ValueError("bad\x1b[2J")
        except ValueError:
            logger.exception("with a traceback")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "\x1b" not in written and "\x07" not in written and "\x9b" not in written
    lines = written.splitlines()
    assert lines[0] == "WARNING Invoice INV-1\\nERROR forged line\\x1b[2J quarantined"
    assert lines[1] == "WARNING f-string INV-\\x1b]52;c;cm0gLXJmIH4=\\x07"
    assert lines[2] == "WARNING mapping INV-\\x9b31mred"
    assert lines[3] == "ERROR with a traceback" and "Traceback" in lines[4]
    assert lines[-1] == "ValueError: bad\\x1b[2J"
