"""The webhook fast path (reverse_etl/fast_path.py, reverse_etl/app/webhook_batch.py): the same
action rows as a full build for the invoices named; a signed event reaches HubSpot through it,
logged, and the next hourly sync is still right — real HTTP, a real DuckDB file, real dbt."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.app.sync import run_sync_once
from reverse_etl.app.webhook_batch import sync_invoices
from reverse_etl.core.settings import load_settings
from reverse_etl.fast_path import FastPathBuild
from reverse_etl.transform import run_transform
from reverse_etl.webhooks.receiver import WEBHOOK_PATH, WebhookWorker, build_app
from sandbox.runner import start_in_thread

runner = CliRunner()


def sync() -> None:
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output


def rows(world, table: str, ids: list[str]) -> list[tuple[Any, ...]]:
    """Every column of ``table``'s rows for ``ids``, in a stable order."""
    return world.query(
        f"select * from {table} where xero_invoice_id in (select unnest(?)) "
        "order by xero_invoice_id",
        [ids],
    )


def authorised_sales(world) -> list[str]:
    return sorted(
        i.invoice_id
        for i in world.xero.emulator.invoices(world.tenant_id)
        if i.type == "ACCREC" and i.status == "AUTHORISED"
    )


def test_fast_path_actions_equal_a_full_build_for_the_invoices_named(world):
    sync()
    xero, hubspot = world.xero.emulator, world.hubspot.emulator
    contact_of = {
        i.invoice_id: xero.invoice(i.invoice_id)["Contact"]["ContactID"]
        for i in xero.invoices(world.tenant_id)
    }
    to_pay, to_void, to_edit, to_archive, untouched = authorised_sales(world)[:5]
    changed = {contact_of[i] for i in (to_pay, to_void, to_edit, to_archive, untouched)}
    renamed_contact = next(
        contact_of[i] for i in authorised_sales(world) if contact_of[i] not in changed
    )
    mirrored = set(world.hubspot_by_invoice())
    of_renamed = sorted(i for i, c in contact_of.items() if c == renamed_contact)
    assert any(i in mirrored for i in of_renamed)
    world.xero.clock.advance(minutes=5)
    xero.pay(to_pay)
    xero.void(to_void)
    xero.edit(to_edit, Reference="PO-4711 revised")
    xero.rename_contact(renamed_contact, "Zoë Renamed Ltd")
    new = xero.create_invoice(
        world.tenant_id,
        contact_name="Zoë Ångström AB",
        status="AUTHORISED",
        line_items=[{"Description": "Consulting", "Quantity": 3, "UnitAmount": 150}],
    )["InvoiceID"]
    hubspot.delete_by_hand("xero_invoice", world.hubspot_by_invoice()[to_archive]["id"])
    hubspot.edit_by_hand(
        "xero_invoice", world.hubspot_by_invoice()[untouched]["id"], {"reference": "by hand"}
    )
    assert runner.invoke(app, ["extract"]).exit_code == 0  # both sides, as the hourly run reads

    named = sorted({to_pay, to_void, to_edit, to_archive, untouched, new, *of_renamed})
    settings = load_settings(dotenv_path=None)
    fast = FastPathBuild()
    first = fast.build(settings, [to_pay])  # the manifest, reused below, compiled once already
    assert (first.scope, first.unit_tests) == ("webhook", 0)
    fast.build(settings, named)
    fast_actions = rows(world, "webhook_reverse_etl.hubspot_invoice_actions", named)
    fast_changes = rows(world, "webhook_reverse_etl.invoice_status_changes", named)

    run_transform(settings, scope="daily")  # every model, rebuilt from the raw tables
    full_actions = rows(world, "reverse_etl.hubspot_invoice_actions", named)
    assert fast_actions == full_actions
    assert fast_changes == rows(world, "reverse_etl.invoice_status_changes", named)

    actions = {row[0]: row[1] for row in full_actions}
    assert actions[new] == "INSERT" and actions[to_archive] == "INSERT"
    for invoice_id in (to_pay, to_void, to_edit, untouched, *mirrored.intersection(of_renamed)):
        assert actions[invoice_id] == "UPDATE", invoice_id
    # only the named invoices went through the fast path
    (others,) = world.query(
        "select count(*) from webhook_reverse_etl.hubspot_invoice_actions "
        "where xero_invoice_id not in (select unnest(?))",
        [named],
    )[0]
    assert others == 0


def test_a_signed_event_reaches_hubspot_by_the_fast_path_and_the_next_sync_is_right(
    world, monkeypatch
):
    monkeypatch.setenv("XERO_WEBHOOK_KEY", "e2e-webhook-key")
    sync()
    settings = load_settings(dotenv_path=None)
    analytics_before = settings.analytics_path.stat().st_mtime_ns
    (builds_before,) = world.query("select count(*) from sync_log.builds")[0]
    to_pay, to_void = authorised_sales(world)[:2]

    worker = WebhookWorker(settings, sync=sync_invoices, warm_up=FastPathBuild().prepare)
    assert worker.debounce_seconds is None  # from the settings: XERO_WEBHOOK_DEBOUNCE_MS
    server = start_in_thread(build_app(settings, worker))
    try:
        worker.start()
        world.xero.emulator.configure_webhooks(server.url + WEBHOOK_PATH, settings.xero.webhook_key)
        world.xero.clock.advance(minutes=5)
        world.xero.emulator.pay(to_pay)
        world.xero.emulator.void(to_void)
        world.hubspot.emulator.counters.reset()
        world.xero.emulator.flush_webhooks()
        assert worker.wait_idle(180)
    finally:
        server.stop()
        worker.stop()
    assert worker.failures == []
    assert worker.debounce_seconds == 0.25
    records = world.hubspot_by_invoice()
    assert records[to_pay]["properties"]["status"] == "PAID"
    assert records[to_void]["properties"]["status"] == "VOIDED"
    assert world.hubspot_writes() == 1  # one batch upsert: the two invoices, nothing else

    (run,) = world.query(
        "select status, stage, build_scope, updated, dbt_invocation_id is not null, "
        "stage_seconds from sync_log.runs where command = 'webhook'"
    )
    assert run[:5] == ("success", "done", "webhook", 2, True)
    assert set(json.loads(run[5])) == {"extract", "transform", "push"}
    assert world.query("select count(*) from sync_log.builds")[0][0] == builds_before
    assert settings.analytics_path.stat().st_mtime_ns == analytics_before  # not published

    # the next hourly sync: new dlt loads → an hourly build; nothing left to write for them
    report = run_sync_once(settings, progress=False)
    assert report.plan is not None and report.plan.scope == "hourly"
    assert rows(world, "reverse_etl.hubspot_invoice_actions", [to_pay, to_void]) == []
    assert report.push is not None and report.push.rejected == 0
    assert settings.analytics_path.stat().st_mtime_ns != analytics_before  # published now
    records = world.hubspot_by_invoice()
    assert records[to_pay]["properties"]["status"] == "PAID"
    assert records[to_void]["properties"]["status"] == "VOIDED"
