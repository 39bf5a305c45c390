"""Issue 20, end to end: no record can stop the others.

Every check the gate runs on invoices and their line items (generated from
``pipelines/xero/contract.py`` CHECKS by ``tests/extract/gate_cases.py``, never hand-listed)
poisons one invoice of its own, all in one run, beside ten ordinary payments. The sync exits 3
(``EXIT_REJECTED``: finished, records set aside), names each invoice with its field, every
other invoice reaches HubSpot, and the daily build's data tests all pass on what was loaded.
Once Xero corrects them, the next sync exits 0 and HubSpot matches Xero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.core.errors import EXIT_OK, EXIT_REJECTED
from tests.e2e.test_sync import assert_hubspot_matches_xero, expected_ids, xero_invoices
from tests.extract.gate_cases import invoice_corruptions

runner = CliRunner()


def _wire(value: Any) -> Any:
    """A JSON number for the emulator to serve (the client reads it back as a Decimal)."""
    return float(value) if isinstance(value, Decimal) else value


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_each_gate_check_quarantines_one_invoice_and_the_others_reach_hubspot(world):
    code, output = _run("sync")
    assert code == EXIT_OK, output
    mirrored = sorted(expected_ids(world))
    payloads = {i: world.xero.emulator.invoice(i) for i in mirrored}
    multi_line = [i for i in mirrored if len(payloads[i]["LineItems"]) >= 2]
    cases = invoice_corruptions(payloads[multi_line[0]])
    assert len(multi_line) > len(cases) + 1, "the demo data needs more multi-line invoices"
    poisoned = {i: invoice_corruptions(payloads[i])[k] for k, i in enumerate(multi_line)
                if k < len(cases)}  # fmt: skip
    lower = multi_line[len(cases)]  # a lower-case currency code: upper-cased, not quarantined
    authorised = {i.invoice_id for i in xero_invoices(world) if i.status == "AUTHORISED"}
    payments = [i for i in mirrored if i in authorised and i not in poisoned][:10]
    assert len(payments) == 10

    world.xero.clock.advance(hours=1)
    for invoice_id in payments:
        world.xero.emulator.pay(invoice_id)
    for invoice_id, case in poisoned.items():
        world.xero.emulator.corrupt_invoice(invoice_id, case.path, _wire(case.value))
    world.xero.emulator.corrupt_invoice(
        lower, "CurrencyCode", payloads[lower]["CurrencyCode"].lower()
    )

    code, output = _run("sync")
    assert code == EXIT_REJECTED, output  # 3: finished, records set aside
    lines = [line for line in output.splitlines() if line.startswith("Quarantined: ")]
    assert len(lines) == len(poisoned), output
    for invoice_id, case in poisoned.items():
        number = payloads[invoice_id]["InvoiceNumber"]
        named = [line for line in lines if number in line and f"field {case.named}:" in line]
        assert named, f"{case.id}: {number} not named with {case.named} in\n{output}"
        if case.named != "InvoiceID":
            assert invoice_id in named[0]
    logged = world.query(
        "select record_name, field from sync_log.quarantine where run_id = "
        "(select run_id from sync_log.runs order by started_at desc limit 1)"
    )
    assert sorted(logged) == sorted(
        (payloads[i]["InvoiceNumber"], c.named) for i, c in poisoned.items()
    )
    others = set(mirrored) - set(poisoned) - {lower}
    assert_hubspot_matches_xero(world, others)  # the ten payments among them
    shown = world.hubspot_by_invoice()[lower]["properties"]["currency_code"]
    assert shown == payloads[lower]["CurrencyCode"] != shown.lower()  # upper-cased, not set aside
    assert {world.hubspot_by_invoice()[i]["properties"]["status"] for i in payments} == {"PAID"}
    code, output = _run("transform")  # the daily build: every data test, on what was loaded
    assert code == EXIT_OK, output
    assert "failed test" not in output

    world.xero.clock.advance(hours=1)
    for invoice_id in [*poisoned, lower]:
        world.xero.emulator.restore_invoice(invoice_id)
    code, output = _run("sync")
    assert code == EXIT_OK, output
    assert "Quarantined" not in output
    assert world.query("select count(*) from raw_xero.quarantine") == [(0,)]
    assert_hubspot_matches_xero(world, set(mirrored))
