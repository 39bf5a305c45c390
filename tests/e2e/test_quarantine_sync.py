"""The principle of issue 10, end to end: one poisoned invoice beside ten ordinary payments.

The ten payments reach HubSpot in the same run; the bad invoice is named in the output, in
``sync_log.quarantine`` and in the alert; the run exits 3 (finished with records set aside).
Once Xero corrects the invoice (the emulator's ``restore``), the next run exits 0 with
everything right — no manual step.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.core.errors import EXIT_REJECTED
from tests.e2e.test_sync import assert_hubspot_matches_xero, xero_invoices

runner = CliRunner()


def sync() -> tuple[int, str]:
    result = runner.invoke(app, ["sync"])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("Status", "ON_HOLD", id="unknown-status"),
        pytest.param("Total", 10**30, id="absurd-amount"),
        pytest.param("DueDate", "/Date(99999999999999999+0000)/", id="bad-date"),
    ],
)
def test_one_poisoned_invoice_never_blocks_ten_payments(world, alert_receiver, field, value):
    code, output = sync()
    assert code == 0, output
    authorised = sorted(
        i.invoice_id
        for i in xero_invoices(world)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )
    assert len(authorised) >= 11
    payments, bad = authorised[:10], authorised[10]
    bad_number = world.xero.emulator.invoice(bad)["InvoiceNumber"]
    world.xero.clock.advance(hours=1)
    for invoice_id in payments:
        world.xero.emulator.pay(invoice_id)
    world.xero.emulator.corrupt_invoice(bad, field, value)
    alerts_before = len(alert_receiver.messages)

    code, output = sync()
    assert code == EXIT_REJECTED, output  # 3: finished, a record set aside
    assert_hubspot_matches_xero(world, set(payments))
    assert {world.hubspot_by_invoice()[i]["properties"]["status"] for i in payments} == {"PAID"}
    assert bad in output and bad_number in output and field in output
    run_id = world.query("select run_id from sync_log.runs order by started_at desc limit 1")[0][0]
    logged = world.query(
        "select record_id, record_name, field from sync_log.quarantine where run_id = ?",
        [run_id],
    )
    assert logged == [(bad, bad_number, field)]
    alerted = " ".join(m["title"] + m["message"] for m in alert_receiver.messages[alerts_before:])
    assert "quarantined" in alerted and bad_number in alerted and bad in alerted

    world.xero.clock.advance(hours=1)
    world.xero.emulator.restore_invoice(bad)
    code, output = sync()
    assert code == 0, output
    assert "Quarantined" not in output
    assert_hubspot_matches_xero(world, {*payments, bad})


def test_extract_quarantines_without_a_flag_and_still_accepts_the_old_one(world):
    """``--continue-on-error`` is kept (it changes nothing now); ``--strict`` fails instead."""
    bad = sorted(i.invoice_id for i in xero_invoices(world))[0]
    world.xero.emulator.corrupt_invoice(bad, "Status", "ON_HOLD")
    for flags in ([], ["--continue-on-error"]):
        result = runner.invoke(app, ["extract", "--full-refresh", *flags])
        assert result.exit_code == EXIT_REJECTED, result.output  # 3: finished, one set aside
        assert "1 quarantined" in result.output and bad in result.output
    result = runner.invoke(app, ["extract", "--full-refresh", "--strict"])
    assert result.exit_code == 1
    assert bad in result.output and "ON_HOLD" in result.output


def test_a_webhook_batch_names_and_logs_its_quarantined_invoice(world):
    """Webhook mode reports quarantine as `sync` does: the batch's good invoice reaches
    HubSpot, the bad one is named in the error, logged in ``sync_log.quarantine``."""
    from reverse_etl.app.webhook_batch import sync_invoices
    from reverse_etl.core.errors import QuarantinedRecordsError
    from reverse_etl.core.settings import load_settings

    code, output = sync()
    assert code == 0, output
    good, bad = sorted(
        i.invoice_id
        for i in xero_invoices(world)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )[:2]
    bad_number = world.xero.emulator.invoice(bad)["InvoiceNumber"]
    world.xero.clock.advance(hours=1)
    world.xero.emulator.pay(good)
    world.xero.emulator.corrupt_invoice(bad, "Status", "ON_HOLD")

    with pytest.raises(QuarantinedRecordsError) as raised:
        sync_invoices(load_settings(), [good, bad])
    assert bad_number in str(raised.value) and "Status" in str(raised.value)
    assert world.hubspot_by_invoice()[good]["properties"]["status"] == "PAID"
    logged = world.query("select record_id, field from sync_log.quarantine")
    assert logged == [(bad, "Status")]
