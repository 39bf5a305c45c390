"""HUBSPOT_API_VERSION, 2026-09 required-property rules, shuffled answers and credential errors:
the push against the emulator over real HTTP, with a real DuckDB warehouse."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reverse_etl.core.errors import HubSpotAuthError
from reverse_etl.core.settings import Settings
from reverse_etl.hubspot.client import HubSpotRequestError
from reverse_etl.push.invoices import run_push
from reverse_etl.push.schema import ensure_schema
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import inserts, make_client, make_settings, query, write_actions

OBJECT = "xero_invoice"


def _records(sandbox: HubSpotSandbox) -> dict[str, dict[str, Any]]:
    return {
        r["properties"]["xero_invoice_id"]: r
        for r in sandbox.emulator.records(OBJECT)
        if not r.get("archived")
    }


@pytest.mark.parametrize("version", ["2026-03", "2026-09"])
def test_each_date_version_pushes_with_numbered_paths_switched_off(
    hubspot_sandbox: HubSpotSandbox, tmp_path: Path, version: str
) -> None:
    assert not hubspot_sandbox.emulator.numbered_paths
    settings = make_settings(hubspot_sandbox, tmp_path, HUBSPOT_API_VERSION=version)
    write_actions(settings.warehouse_path, inserts(range(1, 121)))

    report = run_push(settings, client=make_client(settings))

    assert (report.inserted, report.status) == (120, "success")
    assert len(_records(hubspot_sandbox)) == 120
    counters = hubspot_sandbox.emulator.counters
    assert counters.total(f"POST /crm/objects/{version}/{{objectType}}/batch/upsert") == 2
    assert counters.total(f"POST /crm-object-schemas/{version}/schemas") == 1


def test_v3_stays_selectable_and_the_switch_refuses_it(
    hubspot_sandbox: HubSpotSandbox, tmp_path: Path
) -> None:
    settings = make_settings(hubspot_sandbox, tmp_path, HUBSPOT_API_VERSION="v3")
    write_actions(settings.warehouse_path, inserts(range(1, 6)))
    with pytest.raises(HubSpotRequestError) as refused:  # numbered paths off: 404
        ensure_schema(settings, client=make_client(settings))
    assert refused.value.status == 404 and "/crm-object-schemas/v3/schemas" in str(refused.value)

    hubspot_sandbox.numbered()
    report = run_push(settings, client=make_client(settings))

    assert (report.inserted, report.status) == (5, "success")
    counters = hubspot_sandbox.emulator.counters
    assert counters.total("POST /crm/v3/objects/{objectType}/batch/upsert") == 1


def test_a_portal_required_property_rejects_only_the_records_without_it(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    """API 2026-09: the emulator refuses the whole batch (400); the push bisects it down to the
    records missing the value, names the property and the fix, and writes the others."""
    assert settings.hubspot.api_version == "2026-09"
    rows = inserts(range(1, 21), reference="PO-1")
    for index in (4, 13):
        rows[index]["reference"] = None
    write_actions(settings.warehouse_path, rows)
    hubspot_sandbox.emulator.require_properties(OBJECT, ["reference"])

    report = run_push(settings, client=make_client(settings))

    assert (report.inserted, report.rejected, report.status) == (18, 2, "partial")
    bad = sorted(rows[i]["xero_invoice_id"] for i in (4, 13))
    assert sorted(set(_records(hubspot_sandbox))) == sorted(
        r["xero_invoice_id"] for r in rows if r["xero_invoice_id"] not in bad
    )
    logged = query(
        settings.warehouse_path,
        "select xero_invoice_id, error_category, error_message from sync_log.record_results "
        "where outcome = 'rejected' order by xero_invoice_id",
    )
    assert [row[0] for row in logged] == bad
    for _, category, message in logged:
        assert category == "VALIDATION_ERROR"
        assert "HubSpot requires property reference on xero_invoice" in message
        assert "make reference optional in HubSpot" in message and "map a value" in message
    upserts = hubspot_sandbox.emulator.counters.total(
        "POST /crm/objects/2026-09/{objectType}/batch/upsert"
    )
    assert upserts > 1  # the whole-batch 400 was bisected

    rows[4]["reference"] = rows[13]["reference"] = "PO-2"  # the source is corrected
    write_actions(settings.warehouse_path, [rows[4], rows[13]])
    again = run_push(settings, client=make_client(settings))
    assert (again.inserted, again.rejected, again.status) == (2, 0, "success")


def test_2026_03_ignores_the_portal_rule(hubspot_sandbox: HubSpotSandbox, tmp_path: Path) -> None:
    settings = make_settings(hubspot_sandbox, tmp_path, HUBSPOT_API_VERSION="2026-03")
    write_actions(settings.warehouse_path, inserts(range(1, 4)))
    hubspot_sandbox.emulator.require_properties(OBJECT, ["reference"])

    report = run_push(settings, client=make_client(settings))

    assert (report.inserted, report.rejected) == (3, 0)


def test_shuffled_answers_without_the_echoed_key_map_to_the_right_records(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    """Results come back shuffled and without ``xero_invoice_id``: the push still records each
    record's own HubSpot id (matched through ``objectWriteTraceId``)."""
    emulator = hubspot_sandbox.emulator
    assert emulator.shuffle_results
    emulator.echo_id_property = False
    write_actions(settings.warehouse_path, inserts(range(1, 101)))

    report = run_push(settings, client=make_client(settings))

    assert (report.inserted, report.rejected) == (100, 0)
    stored = {key: record["id"] for key, record in _records(hubspot_sandbox).items()}
    logged = dict(
        query(
            settings.warehouse_path,
            "select xero_invoice_id, hs_object_id from sync_log.record_results",
        )
    )
    assert len(stored) == 100 and logged == stored


def test_a_service_key_without_a_scope_is_named_with_where_to_add_it(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    ensure_schema(settings, client=make_client(settings))
    hubspot_sandbox.emulator.add_token("service-key-read-only", ["crm.objects.custom.read"])
    limited = replace(
        settings, hubspot=replace(settings.hubspot, access_token="service-key-read-only")
    )
    write_actions(settings.warehouse_path, inserts([1]))

    with pytest.raises(HubSpotAuthError) as caught:
        run_push(limited, client=make_client(limited))

    text = str(caught.value)
    assert "403 MISSING_SCOPES" in text and "crm.objects.custom.write" in text
    assert "Service Key in HUBSPOT_ACCESS_TOKEN" in text
    assert "Development → Keys → Service keys" in text
    assert "service-key-read-only" not in text


def test_a_rejected_key_names_service_keys_and_private_apps(
    hubspot_sandbox: HubSpotSandbox, settings: Settings
) -> None:
    for token, kind in (("pat-na1-revoked", "private app token"), ("svc-revoked", "Service Key")):
        wrong = replace(settings, hubspot=replace(settings.hubspot, access_token=token))
        with pytest.raises(HubSpotAuthError) as caught:
            ensure_schema(wrong, client=make_client(wrong))
        text = str(caught.value)
        assert "401" in text and kind in text and "HUBSPOT_ACCESS_TOKEN" in text
        assert "Service keys" in text and token not in text
