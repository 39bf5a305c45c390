"""Invoice numbers carrying terminal escape sequences never reach the terminal raw.

Xero accepts any text as an invoice number. Two invoices get numbers that would clear the
screen, write the clipboard (OSC 52) and colour the rest of the output (C1's CSI) if printed
raw; one of them is also malformed, so the sync quarantines it and names it on stdout, in its
log and in its one-line error. A real sync process is run, its stdout and stderr read as bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys

from reverse_etl.core.errors import EXIT_REJECTED
from tests.e2e.test_sync import xero_invoices

EVIL = "INV-\x1b[2J\x1b[H-\x1b]52;c;cm0gLXJmIH4=\x07-\x9b31m-\r"
RAW = ("\x1b", "\x07", "\x9b", "\r")


def test_escape_sequences_in_invoice_numbers_are_printed_visibly(world, tmp_path):
    editable = sorted(
        i.invoice_id
        for i in xero_invoices(world)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )
    quarantined, pushed = editable[:2]
    world.xero.emulator.edit(quarantined, InvoiceNumber=EVIL + "Q")
    world.xero.emulator.corrupt_invoice(quarantined, "Status", "ON_HOLD")
    world.xero.emulator.edit(pushed, InvoiceNumber=EVIL + "P")

    done = subprocess.run(
        [sys.executable, "-m", "reverse_etl.app.cli", "sync"],
        env={**os.environ, **world.env},
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
    )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == EXIT_REJECTED, stdout + stderr  # 3: one invoice set aside
    for name, text in (("stdout", stdout), ("stderr", stderr)):
        raw = [c for c in RAW if c in text]
        assert not raw, (name, raw, text)
    visible = "INV-\\x1b[2J\\x1b[H-\\x1b]52;c;cm0gLXJmIH4=\\x07-\\x9b31m-\\rQ"
    assert f"Quarantined: invoice {visible}" in stdout  # named, visibly
    assert visible in stderr  # the log's warning and the closing one-line error
    (number,) = world.query(
        "select invoice_number from raw_xero.invoice_versions where invoice_id = ? "
        "order by updated_date_utc desc limit 1",
        [pushed],
    )[0]
    assert number == EVIL + "P"  # the data itself is kept exact
