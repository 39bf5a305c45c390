"""Injected faults (429 storms, 5xx, slow answers, dropped connections), latency and counters."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api, invoice

UPSERT = f"/crm/objects/2026-09/{OBJECT}/batch/upsert"


def test_429_storm_has_hubspots_body_and_optional_retry_after(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    hubspot_sandbox.emulator.faults.add(
        "status", status=429, path_prefix="/crm/objects/2026-09", times=3, retry_after=1
    )
    answers = [api.upsert([invoice(1)]) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200]
    body = answers[0].json()
    assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert answers[0].headers["Retry-After"] == "1"
    assert len(hubspot_sandbox.emulator.records(OBJECT)) == 1


@pytest.mark.parametrize(
    ("status", "category"),
    [(500, "INTERNAL_ERROR"), (502, "BAD_GATEWAY"), (503, "SERVICE_UNAVAILABLE")],
)
def test_server_errors_have_a_hubspot_like_body(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox, status: int, category: str
) -> None:
    hubspot_sandbox.emulator.faults.add("status", status=status, method="POST")
    failed = api.upsert([invoice(1)])
    assert failed.status_code == status
    assert failed.json()["status"] == "error" and failed.json()["category"] == category
    assert hubspot_sandbox.emulator.records(OBJECT) == []
    assert api.upsert([invoice(1)]).status_code == 200


def test_dropped_connection(api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox) -> None:
    hubspot_sandbox.emulator.faults.add("drop", path_prefix=UPSERT)
    with pytest.raises(requests.ConnectionError):
        api.upsert([invoice(1)])
    assert api.upsert([invoice(1)]).status_code == 200


def test_slow_answers_and_latency(api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox) -> None:
    hubspot_sandbox.emulator.faults.add("slow", seconds=0.3, path_prefix=UPSERT)
    started = time.perf_counter()
    assert api.upsert([invoice(1)]).status_code == 200
    assert time.perf_counter() - started >= 0.3
    hubspot_sandbox.emulator.faults.latency_seconds = 0.05
    started = time.perf_counter()
    api.get(f"/crm/objects/2026-09/{OBJECT}")
    assert time.perf_counter() - started >= 0.05


def test_counters_by_route_template(api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox) -> None:
    api.upsert([invoice(1)])
    api.upsert([invoice(2)])
    api.post(f"/crm/objects/2026-09/{OBJECT}/search", {})
    requests.get(f"{hubspot_sandbox.url}/crm-object-schemas/2026-09/schemas")  # 401, still counted
    counters = requests.get(f"{hubspot_sandbox.url}/_sandbox/counters").json()
    assert counters["by_route"]["POST /crm/objects/2026-09/{objectType}/batch/upsert"] == 2
    assert counters["by_route"]["POST /crm/objects/2026-09/{objectType}/search"] == 1
    assert counters["by_status"]["401"] == 1
    assert hubspot_sandbox.emulator.counters.total("POST /crm/objects/2026-09") == 3


def test_faults_over_http_from_another_process(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    url = hubspot_sandbox.url
    added = requests.post(f"{url}/_sandbox/faults", json={"kind": "status", "status": 503})
    assert added.json()["added"]["status"] == 503
    assert api.upsert([invoice(1)]).status_code == 503
    requests.post(f"{url}/_sandbox/faults", json={"kind": "status", "status": 500, "times": None})
    assert api.upsert([invoice(1)]).status_code == 500
    assert requests.delete(f"{url}/_sandbox/faults").status_code == 200
    assert api.upsert([invoice(1)]).status_code == 200
