"""The customers' snapshot follows HubSpot merges (issue 20): a company a merge made lists the
ids it folded in (``hs_merged_object_ids``); those are archived in ``raw_hubspot.companies`` on
the same read, without listing every archived company."""

from __future__ import annotations

from pipelines.run import run_hubspot_snapshot
from tests.extract.conftest import ExtractEnv

LIST_ROUTE = "GET /crm/objects/2026-09/{objectType}"


def test_a_merge_archives_the_merged_away_companies_on_the_next_read(
    extract_env: ExtractEnv,
) -> None:
    env = extract_env
    env.create_hubspot_object()
    emulator = env.hubspot.emulator
    first, second, other = emulator.seed("companies", [{"name": n} for n in ("A", "A Ltd", "B")])
    settings = env.settings()
    run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))

    env.hubspot_clock.advance(120)
    survivor = emulator.merge_by_hand("companies", first, second)
    new = emulator.seed("companies", [{"name": f"New {n}"} for n in range(3)])
    env.hubspot_clock.advance(120)
    emulator.counters.reset()
    report = run_hubspot_snapshot(settings, reader=env.hubspot_reader(settings))

    archived = dict(env.query("select hs_object_id, archived from raw_hubspot.companies"))
    assert archived[first] is True and archived[second] is True
    assert archived[survivor] is False and archived[other] is False
    assert all(archived[n] is False for n in new)
    assert report.customers_loaded["companies"] == 4 + 2  # survivor, 3 new, 2 merged away
    by_route = emulator.counters.snapshot()["by_route"]
    assert by_route.get(LIST_ROUTE, 0) == 0, "no list of archived companies"
