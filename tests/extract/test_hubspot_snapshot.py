"""HubSpot custom-object records → raw_hubspot.invoice_records, over HTTP against the emulator.

The reader's transport is the tool's one HubSpot client
(:class:`reverse_etl.hubspot.client.HubSpot`), built by ``ExtractEnv.hubspot_reader`` on the
emulator's manual clock: every wait it takes
(limiter, ``Retry-After``, backoff) is recorded in ``env.sleeps`` and moves that clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import duckdb
import pytest
import requests

from pipelines.hubspot_snapshot.changes import MAX_WINDOWS, EchoWindow, echo_windows
from pipelines.hubspot_snapshot.client import SearchWindowStuck
from pipelines.run import run_hubspot_snapshot
from reverse_etl.core import sync_log
from reverse_etl.core.errors import HubSpotAuthError, HubSpotError
from reverse_etl.core.settings import Settings
from reverse_etl.hubspot.client import HubSpotRateLimitError
from reverse_etl.hubspot.properties import PROPERTY_NAMES
from reverse_etl.push import records
from sandbox.hubspot.limits import HubSpotLimits
from tests.extract.conftest import ExtractEnv

OBJECT = "xero_invoice"


def _records(n: int, start: int = 0) -> list[dict[str, str]]:
    return [
        {
            "xero_invoice_id": f"00000000-0000-4000-8000-{i:012d}",
            "invoice_number": f"INV-{i:06d}",
            "status": "AUTHORISED",
            "total": "118.50",
            "invoice_date": "2024-05-31",
        }
        for i in range(start, start + n)
    ]


def _seed(env: ExtractEnv, n: int, start: int = 0, per_tick: int = 100) -> None:
    """Seed ``n`` records, the clock moving 1 ms every ``per_tick`` records."""
    rows = _records(n, start)
    for offset in range(0, n, per_tick):
        env.hubspot.emulator.seed(OBJECT, rows[offset : offset + per_tick])
        env.hubspot_clock.advance(0.001)


def test_full_read_then_only_the_hand_edit(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 250)
    settings = env.settings()

    first = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert first.mode == "full" and first.records_loaded == 250
    columns = [
        name
        for (name,) in env.query(
            "select column_name from information_schema.columns where table_schema = "
            "'raw_hubspot' and table_name = 'invoice_records' order by ordinal_position"
        )
    ]
    assert columns == [
        "hs_object_id", *PROPERTY_NAMES, "hs_createdate", "hs_lastmodifieddate", "archived",
        "_dlt_load_id", "_dlt_id",
    ]  # fmt: skip
    row = env.query(
        "select total, invoice_date, reference, hs_lastmodifieddate, archived "
        "from raw_hubspot.invoice_records where invoice_number = 'INV-000007'"
    )[0]
    assert row[0] in ("118.5", "118.50") and row[1] is not None and row[2] is None
    assert isinstance(row[3], datetime) and row[4] is False

    env.hubspot_clock.advance(120)
    record_id = env.scalar(
        "select hs_object_id from raw_hubspot.invoice_records where invoice_number = 'INV-000042'"
    )
    env.hubspot.emulator.edit_by_hand(OBJECT, record_id, {"total": "1.00"})
    second = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert second.mode == "incremental"
    assert second.records_loaded == 1
    assert env.scalar(
        "select total from raw_hubspot.invoice_records where hs_object_id = ?", record_id
    ) in ("1", "1.00")
    assert env.scalar("select count(*) from raw_hubspot.invoice_records") == 250

    env.hubspot_clock.advance(1)  # HubSpot's 5 searches a second: the last run's are past
    env.hubspot.emulator.counters.reset()
    third = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert env.hubspot.emulator.counters.snapshot()["total"] == 3
    # one search per object type: the changes and HubSpot's live count (objectTypeId remembered)
    assert third.records_loaded == 0 and third.calls == 1 and third.customer_calls == 2
    assert not third.changed

    # Search never returns archived records; the incremental run lists them (issue 10, item 1).
    _archive_over_http(env, record_id)
    fourth = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert fourth.mode == "incremental" and fourth.records_loaded == 1
    assert env.query("select hs_object_id from raw_hubspot.invoice_records where archived") == [
        (record_id,)
    ]
    fifth = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert fifth.records_loaded == 0  # already marked: not loaded again

    refreshed = run_hubspot_snapshot(
        settings, full_refresh=True, reader=env.hubspot_reader(settings)
    )
    assert refreshed.mode == "full"
    assert env.query("select hs_object_id from raw_hubspot.invoice_records where archived") == [
        (record_id,)
    ]


def _archive_over_http(env: ExtractEnv, record_id: str) -> None:
    response = requests.delete(
        f"{env.hubspot.url}/crm/objects/2026-09/{OBJECT}/{record_id}",
        headers=env.hubspot.headers,
        timeout=30,
    )
    assert response.status_code == 204


def test_search_windows_past_the_10000_ceiling(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.hubspot.emulator.limits = HubSpotLimits.unlimited()
    env.create_hubspot_object()
    _seed(env, 1)
    settings = env.settings()
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))

    env.hubspot_clock.advance(60)
    _seed(env, 10_300, start=1)
    reader = env.hubspot_reader(settings)
    report = run_hubspot_snapshot(settings, reader=reader)

    assert report.mode == "incremental"
    assert report.records_loaded == 10_300
    assert env.scalar("select count(*) from raw_hubspot.invoice_records") == 10_301
    assert env.scalar("select count(distinct hs_object_id) from raw_hubspot.invoice_records") == (
        10_301
    )
    assert env.hubspot.emulator.counters.by_status.get(400, 0) == 0
    assert reader.calls >= 1 + 52  # 10,300 / 200 per page, plus the restarted window


def test_missing_object_gives_an_empty_table(extract_env: ExtractEnv) -> None:
    env = extract_env
    settings = env.settings()
    report = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert report.mode == "none" and report.records_loaded == 0
    assert report.object_type_id is None
    assert env.scalar("select count(*) from raw_hubspot.invoice_records") == 0


def test_bad_token_and_missing_scope(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.create_hubspot_object()
    wrong = env.settings(HUBSPOT_ACCESS_TOKEN="pat-wrong-0000")
    with pytest.raises(HubSpotAuthError) as error:
        run_hubspot_snapshot(wrong, reader=env.hubspot_reader(wrong))
    assert "HUBSPOT_ACCESS_TOKEN" in str(error.value)
    assert "pat-wrong-0000" not in str(error.value)
    assert "raw_hubspot.invoice_records" not in env.tables()

    env.hubspot.emulator.add_token("pat-schemas-only", scopes=["crm.schemas.custom.read"])
    limited = env.settings(HUBSPOT_ACCESS_TOKEN="pat-schemas-only")
    with pytest.raises(HubSpotAuthError, match=r"crm\.objects\.custom\.read") as error:
        run_hubspot_snapshot(limited, reader=env.hubspot_reader(limited))
    assert "HUBSPOT_ACCESS_TOKEN" in str(error.value)


def test_429_is_waited_out(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 150)
    env.hubspot.emulator.faults.add(
        "status", status=429, path_prefix="/crm/objects/2026-09", retry_after=1, times=2
    )
    settings = env.settings()
    report = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert report.records_loaded == 150
    assert env.sleeps.count(1.0) == 2


def test_daily_limit_fails_at_once(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 10)
    env.hubspot.emulator.limits = HubSpotLimits(requests_per_window=None, daily=1)
    settings = env.settings()
    reader = env.hubspot_reader(settings)
    with pytest.raises(HubSpotRateLimitError, match="daily") as error:
        run_hubspot_snapshot(settings, reader=reader)
    assert "midnight" in str(error.value)
    assert reader.calls == 2  # the schema lookup, then one list call: no retry
    assert env.sleeps == []  # no waiting for a limit that resets at midnight


def test_5xx_and_dropped_connections_are_retried_with_backoff(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 150)
    faults = env.hubspot.emulator.faults
    faults.add("status", status=503, path_prefix="/crm/objects/2026-09", times=2)
    faults.add("drop", path_prefix="/crm/objects/2026-09", times=1)
    settings = env.settings()
    report = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert report.records_loaded == 150
    assert env.sleeps == [0.375, 0.75, 1.5]  # equal-jitter backoff, jitter fixed at 0.5
    assert env.scalar("select count(*) from raw_hubspot.invoice_records") == 150


def test_5xx_that_does_not_stop_names_the_setting_to_check(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 10)
    env.hubspot.emulator.faults.add(
        "status", status=500, path_prefix="/crm/objects/2026-09", times=None
    )
    settings = env.settings()
    reader = env.hubspot_reader(settings)
    with pytest.raises(HubSpotError, match="after 6 attempts") as error:
        run_hubspot_snapshot(settings, reader=reader)
    assert "HUBSPOT_BASE_URL" in str(error.value) and "500" in str(error.value)
    assert reader.calls == 1 + 6


def test_search_windows_restart_and_detect_a_stuck_window(extract_env: ExtractEnv) -> None:
    """The 10,000-result ceiling, scaled down (10 results, pages of 4), over real HTTP."""
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 25, per_tick=2)  # two records per millisecond
    settings = env.settings()
    reader = env.hubspot_reader(settings, search_limit=4, max_results=10)
    object_type = reader.object_type_id(OBJECT)
    assert object_type is not None
    since = datetime(2024, 1, 1, tzinfo=UTC)
    pages = list(reader.search_modified_since(object_type, ["hs_lastmodifieddate"], since))
    ids = [record["id"] for page in pages for record in page]
    assert len(set(ids)) == 25
    assert len(ids) > 25  # windows restart at the last instant seen, inclusive
    assert all(len(page) <= 4 for page in pages)
    assert env.hubspot.emulator.counters.by_status.get(400, 0) == 0
    assert env.hubspot.emulator.counters.by_status.get(429, 0) == 0
    assert sum(env.sleeps) >= 1.0  # the search limiter (4 per second) spaced the searches

    stuck_at = env.hubspot_clock()
    _seed(env, 12, start=100, per_tick=12)  # 12 records share one instant
    with pytest.raises(SearchWindowStuck):
        list(reader.search_modified_since(object_type, ["hs_lastmodifieddate"], stuck_at))


def test_a_stuck_search_window_falls_back_to_a_full_list(extract_env: ExtractEnv) -> None:
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 5)
    settings = env.settings()
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    env.hubspot_clock.advance(60)
    _seed(env, 12, start=100, per_tick=12)
    reader = env.hubspot_reader(settings, search_limit=4, max_results=10)
    report = run_hubspot_snapshot(settings, reader=reader)
    assert report.mode == "full (search window stuck)"
    assert env.scalar("select count(*) from raw_hubspot.invoice_records") == 17


def test_search_secondly_429_is_waited_out(extract_env: ExtractEnv) -> None:
    """HubSpot's search limit is lower than our limiter thinks: its SECONDLY 429s hold the
    searches until the search window has room, and the read completes."""
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 30, per_tick=30)
    settings = env.settings()
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    env.hubspot_clock.advance(60)
    _seed(env, 30, start=100, per_tick=1)
    env.hubspot.emulator.limits = HubSpotLimits(
        requests_per_window=None, search_per_second=2, daily=None
    )
    reader = env.hubspot_reader(settings, search_limit=4)
    report = run_hubspot_snapshot(settings, reader=reader)
    assert report.mode == "incremental" and report.records_loaded == 30
    assert env.hubspot.emulator.counters.by_status.get(429, 0) > 0
    assert reader.hub.rate_limited == env.hubspot.emulator.counters.by_status[429]


def test_companies_and_contacts_full_then_only_hand_edits_on_their_own_date_property(
    extract_env: ExtractEnv,
) -> None:
    """The customers' snapshot: a full list first, then a windowed search that returns only
    what a person changed. Contacts are searched on ``lastmodifieddate`` (HubSpot's name for
    them; the emulator refuses ``hs_lastmodifieddate`` on contacts as an unknown property),
    companies on ``hs_lastmodifieddate``."""
    env = extract_env
    env.create_hubspot_object()
    emulator = env.hubspot.emulator
    companies = emulator.seed("companies", [{"name": f"Co {n}"} for n in range(3)])
    contacts = emulator.seed("contacts", [{"email": f"p{n}@co{n}.example"} for n in range(3)])
    settings = env.settings()

    first = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert first.customers_loaded == {"companies": 3, "contacts": 3}
    assert env.scalar("select count(*) from raw_hubspot.contacts") == 3

    env.hubspot_clock.advance(120)
    emulator.edit_by_hand("contacts", contacts[1], {"email": "moved@elsewhere.example"})
    emulator.edit_by_hand("companies", companies[2], {"domain": "co2.example"})
    env.hubspot.emulator.counters.reset()
    second = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert second.customers_loaded == {"companies": 1, "contacts": 1}
    searched = [
        route for route in emulator.counters.snapshot()["by_route"] if route.endswith("/search")
    ]
    assert searched, "the second run reads by search"
    emails = dict(env.query("select hs_object_id, email from raw_hubspot.contacts"))
    assert emails[contacts[1]] == "moved@elsewhere.example"
    assert (
        env.scalar("select domain from raw_hubspot.companies where hs_object_id = ?", companies[2])
        == "co2.example"
    )
    assert (
        env.scalar("select count(*) from raw_hubspot.contacts where hs_lastmodifieddate is null")
        == 0
    )


def test_the_emulator_refuses_hs_lastmodifieddate_on_contacts(extract_env: ExtractEnv) -> None:
    from reverse_etl.hubspot.client import HubSpot

    env = extract_env
    settings = env.settings()
    hub = HubSpot(settings.hubspot)
    body = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": 0}]}
        ],
        "limit": 10,
    }
    with pytest.raises(HubSpotError, match="hs_lastmodifieddate"):
        hub.search_page("contacts", body, "crm.objects.contacts.read")
    body["filterGroups"][0]["filters"][0]["propertyName"] = "lastmodifieddate"
    assert hub.search_page("contacts", body, "crm.objects.contacts.read")["results"] == []


def _push_echo(env: ExtractEnv, settings: Settings, changes: dict[str, dict[str, str]]) -> None:
    """What ``invoice-sync push`` does for these invoices (by ``xero_invoice_id``): batch upserts
    of ≤ 100 over HTTP, each answer written back by the push's own code
    (:func:`reverse_etl.core.records.record_batch`, ``updatedAt`` as ``hs_lastmodifieddate``)."""
    hub = env.hubspot_client(settings)
    object_type = env.hubspot.emulator.store.resolve(OBJECT).object_type_id
    con = duckdb.connect(str(env.warehouse_path))
    try:
        sync_log.ensure_tables(con)
        columns = records.snapshot_columns(con)
        ids = list(changes)
        for offset in range(0, len(ids), 100):
            batch = ids[offset : offset + 100]
            inputs = [
                {
                    "idProperty": "xero_invoice_id",
                    "id": xid,
                    "properties": {"xero_invoice_id": xid, **changes[xid]},
                }
                for xid in batch
            ]
            answer = hub.batch_upsert(object_type, inputs)
            assert not answer.errors
            written = []
            for result in answer.results:
                xid = str(result.properties["xero_invoice_id"])
                names = ", ".join(PROPERTY_NAMES)
                row = con.execute(
                    f"select {names} from raw_hubspot.invoice_records where hs_object_id = ?",
                    [result.id],
                ).fetchone()
                values = dict(zip(PROPERTY_NAMES, row or (), strict=False))
                values.update(changes[xid])
                written.append(
                    records.WrittenRecord(
                        xero_invoice_id=xid,
                        hs_object_id=result.id,
                        action="UPDATE",
                        properties=values,
                        created_at=result.created_at,
                        updated_at=result.updated_at,
                        new=result.new,
                    )
                )
            records.record_batch(con, "push-test", records.BatchOutcome(written), columns)
            env.hubspot_clock.advance(0.2)  # a batch round trip
    finally:
        con.close()


def _calls(env: ExtractEnv) -> dict[str, int]:
    return dict(env.hubspot.emulator.counters.snapshot()["by_route"])


def test_a_quiet_run_costs_one_search_per_object_type(extract_env: ExtractEnv) -> None:
    """Nothing changed in HubSpot: invoices, companies and contacts cost 3 calls in all, and
    the report says nothing changed (the orchestrator skips the transform on that)."""
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 450)
    env.hubspot.emulator.seed("companies", [{"name": f"Co {n}"} for n in range(5)])
    env.hubspot.emulator.seed("contacts", [{"email": f"p{n}@co.example"} for n in range(5)])
    settings = env.settings()
    env.hubspot_clock.advance(60)
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    env.hubspot_clock.advance(60)
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))  # HubSpot's clock kept

    env.hubspot_clock.advance(3600)
    env.hubspot.emulator.counters.reset()
    quiet = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert env.hubspot.emulator.counters.snapshot()["total"] == 3
    assert _calls(env) == {"POST /crm/objects/2026-09/{objectType}/search": 3}
    assert quiet.calls == 1 and quiet.customer_calls == 2
    assert quiet.records_loaded == 0 and quiet.archived == 0 and not quiet.changed
    assert quiet.customers_loaded == {"companies": 0, "contacts": 0}
    assert quiet.load_ids == []  # no state moved: dlt loads no package


def test_echoes_of_our_push_are_counted_not_read(extract_env: ExtractEnv) -> None:
    """After our push wrote 300 records, the next snapshot reads none of them: one search for
    the changes (the push's seconds excluded) and one count of those seconds. A person's edit
    after the push, or inside the push's seconds, is still read."""
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 450)
    settings = env.settings()
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))

    env.hubspot_clock.advance(600)
    pushed = {r["xero_invoice_id"]: {"status": "PAID", "amount_due": "0"} for r in _records(300)}
    _push_echo(env, settings, pushed)
    env.hubspot_clock.advance(3000)
    env.hubspot.emulator.counters.reset()
    echoes = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert echoes.calls == 2, _calls(env)
    # the 150 records seeded in the seconds before the first (full) read are read once more
    assert echoes.records_loaded == 0 and echoes.unchanged == 150 and not echoes.changed
    assert env.scalar("select count(*) from raw_hubspot.invoice_records where status = 'PAID'") == (
        300
    )

    env.hubspot_clock.advance(3600)  # the cursor moved past the echoes: one search again
    env.hubspot.emulator.counters.reset()
    quiet = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert quiet.calls == 1 and quiet.records_loaded == 0

    # a person edits a record while our push writes others: the count of the push's seconds
    # differs from what we wrote, so that read pays the old way and finds the edit
    env.hubspot_clock.advance(600)
    second = {r["xero_invoice_id"]: {"reference": "echo"} for r in _records(200)}
    _push_echo(env, settings, dict(list(second.items())[:100]))
    edited = env.scalar(
        "select hs_object_id from raw_hubspot.invoice_records where invoice_number = 'INV-000400'"
    )
    env.hubspot.emulator.edit_by_hand(OBJECT, edited, {"total": "7.00"})
    env.hubspot_clock.advance(0.1)  # the edit falls between two of the push's batches
    _push_echo(env, settings, dict(list(second.items())[100:]))
    env.hubspot_clock.advance(3000)
    mixed = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert mixed.records_loaded == 1 and mixed.changed
    assert env.scalar(
        "select total from raw_hubspot.invoice_records where hs_object_id = ?", edited
    ) in ("7", "7.00")

    # after a push, a person edits one record and archives another
    env.hubspot_clock.advance(600)
    _push_echo(env, settings, {r["xero_invoice_id"]: {"reference": "third"} for r in _records(150)})
    env.hubspot_clock.advance(60)
    env.hubspot.emulator.edit_by_hand(OBJECT, edited, {"total": "8.00"})
    gone = env.scalar(
        "select hs_object_id from raw_hubspot.invoice_records where invoice_number = 'INV-000420'"
    )
    _archive_over_http(env, gone)
    env.hubspot_clock.advance(3000)
    env.hubspot.emulator.counters.reset()
    after = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert after.records_loaded == 2 and after.archived == 1 and after.changed
    assert env.query("select hs_object_id from raw_hubspot.invoice_records where archived") == [
        (gone,)
    ]
    # the change search, the echo count, one page of the archived listing
    assert after.calls == 3, _calls(env)

    # a person edits a record our push wrote: it left the push's seconds, is read by the change
    # search, and the count of those seconds expects one fewer
    env.hubspot_clock.advance(600)
    _push_echo(
        env, settings, {r["xero_invoice_id"]: {"reference": "fourth"} for r in _records(120)}
    )
    env.hubspot_clock.advance(60)
    ours = env.scalar(
        "select hs_object_id from raw_hubspot.invoice_records where invoice_number = 'INV-000007'"
    )
    env.hubspot.emulator.edit_by_hand(OBJECT, ours, {"reference": "by hand"})
    env.hubspot_clock.advance(3000)
    env.hubspot.emulator.counters.reset()
    edited_echo = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert edited_echo.calls == 2, _calls(env)
    assert edited_echo.records_loaded == 1 and edited_echo.changed
    assert env.scalar(
        "select reference from raw_hubspot.invoice_records where hs_object_id = ?", ours
    ) == ("by hand")


def test_echoes_younger_than_the_search_lag_are_counted_next_run(extract_env: ExtractEnv) -> None:
    """A snapshot seconds after our push (webhook mode, back-to-back syncs) cannot prove the
    push's seconds yet (search may lag writes): it leaves them out and the next run counts
    them, so a person's write hidden in them is still found."""
    env = extract_env
    env.create_hubspot_object()
    _seed(env, 50)
    settings = env.settings()
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    env.hubspot_clock.advance(600)
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))

    env.hubspot_clock.advance(600)
    _push_echo(env, settings, {r["xero_invoice_id"]: {"status": "PAID"} for r in _records(20)})
    hand = env.scalar(
        "select hs_object_id from raw_hubspot.invoice_records where invoice_number = 'INV-000045'"
    )
    env.hubspot.emulator.edit_by_hand(OBJECT, hand, {"total": "3.00"})  # inside the push's seconds
    env.hubspot_clock.advance(0.1)
    _push_echo(env, settings, {r["xero_invoice_id"]: {"status": "PAID"} for r in _records(20, 20)})
    env.hubspot_clock.advance(5)
    soon = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    # the change search; the hand-edited record now sits inside the push's seconds, so HubSpot's
    # live count outside them is one short and one page of archived records is listed (none)
    assert soon.calls == 2 and soon.records_loaded == 0

    env.hubspot_clock.advance(60)
    later = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert later.records_loaded == 1 and later.changed  # the count differed: read, edit found
    assert env.scalar(
        "select total from raw_hubspot.invoice_records where hs_object_id = ?", hand
    ) in ("3", "3.00")

    env.hubspot_clock.advance(600)
    _push_echo(env, settings, {r["xero_invoice_id"]: {"status": "VOIDED"} for r in _records(20)})
    env.hubspot_clock.advance(5)
    assert run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings)).calls == 1
    env.hubspot_clock.advance(60)
    env.hubspot.emulator.counters.reset()
    proven = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))
    assert proven.calls == 2 and proven.records_loaded == 0 and not proven.changed
    env.hubspot_clock.advance(3600)
    assert run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings)).calls == 1


def test_echo_windows_group_the_push_seconds_into_at_most_four_intervals() -> None:
    """The change search leaves the windows out with the gaps between them as filter groups:
    four windows make five groups, HubSpot's maximum."""
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    stamps = [at + timedelta(seconds=s) for s in (0, 0, 1.5, 30, 200, 201, 900, 2000, 2100, 5000)]
    windows = echo_windows(stamps)
    assert len(windows) == MAX_WINDOWS
    assert sum(w.expected for w in windows) == len(stamps)
    # six groups 60 s apart; the two closest pairs (100 s, then 170 s apart) are merged
    assert windows[0] == EchoWindow(at, at + timedelta(seconds=201), 6)
    assert windows[2] == EchoWindow(at + timedelta(seconds=2000), at + timedelta(seconds=2100), 2)
    assert windows[-1].high == at + timedelta(seconds=5000)
    assert all(a.high < b.low for a, b in pairwise(windows))
    assert echo_windows([]) == []
