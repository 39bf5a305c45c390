"""Rate limits on an injected clock: the rolling 10-second window, search per second, daily."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.clock import ManualClock
from sandbox.hubspot import HubSpotLimits
from tests.fixtures.hubspot import HubSpotSandbox
from tests.sandbox.hubspot.conftest import OBJECT, Api

LIST = f"/crm/objects/2026-09/{OBJECT}"
SEARCH = f"/crm/objects/2026-09/{OBJECT}/search"


def _use(hubspot_sandbox: HubSpotSandbox, limits: HubSpotLimits) -> ManualClock:
    clock = hubspot_sandbox.manual_clock()
    hubspot_sandbox.emulator.limits = limits
    return clock


def test_rolling_window_429_body_headers_and_recovery(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    clock = _use(hubspot_sandbox, HubSpotLimits(requests_per_window=5, daily=1000))
    remaining = []
    for _ in range(5):
        response = api.get(LIST)
        assert response.status_code == 200
        remaining.append(response.headers["X-HubSpot-RateLimit-Remaining"])
        clock.advance(seconds=1)
    assert remaining == ["4", "3", "2", "1", "0"]
    assert response.headers["X-HubSpot-RateLimit-Max"] == "5"
    assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert response.headers["X-HubSpot-RateLimit-Daily"] == "1000"
    assert response.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "995"

    limited = api.get(LIST)
    assert limited.status_code == 429
    body = limited.json()
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["correlationId"]
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in limited.headers

    clock.advance(seconds=5.5)  # the first request (t=0) left the window at t=10
    assert api.get(LIST).status_code == 200
    assert api.get(LIST).status_code == 429
    assert hubspot_sandbox.emulator.counters.by_status[429] == 2


def test_retry_after_is_sent_only_when_configured(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    _use(hubspot_sandbox, HubSpotLimits(requests_per_window=1, retry_after_seconds=2))
    api.get(LIST)
    limited = api.get(LIST)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"


def test_search_has_its_own_per_second_limit(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    clock = _use(hubspot_sandbox, HubSpotLimits(requests_per_window=100, search_per_second=5))
    for _ in range(5):
        response = api.post(SEARCH, {})
        assert response.status_code == 200
        assert "X-HubSpot-RateLimit-Remaining" not in response.headers
    limited = api.post(SEARCH, {})
    assert limited.status_code == 429
    assert limited.json()["policyName"] == "SECONDLY"
    assert limited.json()["errorType"] == "RATE_LIMIT"
    assert api.get(LIST).status_code == 200  # the portal window is separate
    clock.advance(seconds=1.01)
    assert api.post(SEARCH, {}).status_code == 200


def test_daily_cap_resets_at_utc_midnight(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    clock = _use(hubspot_sandbox, HubSpotLimits(requests_per_window=None, daily=3))
    for _ in range(3):
        assert api.get(LIST).status_code == 200
    limited = api.get(LIST)
    assert limited.status_code == 429
    assert limited.json()["policyName"] == "DAILY"
    assert limited.json()["message"] == "You have reached your daily limit."
    assert limited.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert api.post(SEARCH, {}).status_code == 429
    clock.advance(days=1)
    assert api.get(LIST).status_code == 200


def test_unlimited_sends_no_limit_headers(
    api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox
) -> None:
    _use(hubspot_sandbox, HubSpotLimits.unlimited())
    for _ in range(150):
        response = api.get(LIST)
        assert response.status_code == 200
    assert not any(h.startswith("X-HubSpot-RateLimit") for h in response.headers)


def test_limits_control_route(api: Api, schema: Any, hubspot_sandbox: HubSpotSandbox) -> None:
    url = hubspot_sandbox.url
    set_two = requests.post(f"{url}/_sandbox/limits", json={"requests_per_window": 2})
    assert set_two.json()["requests_per_window"] == 2
    assert requests.get(f"{url}/_sandbox/limits").json()["search_per_second"] == 5
    statuses = [api.get(LIST).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert requests.post(f"{url}/_sandbox/limits", json={"unlimited": True}).status_code == 200
    assert hubspot_sandbox.emulator.limits == HubSpotLimits.unlimited()
    assert api.get(LIST).status_code == 200
    bad = requests.post(f"{url}/_sandbox/limits", json={"per_minute": 3})
    assert bad.status_code == 400 and "per_minute" in bad.json()["error"]


def test_reset_restores_default_limits(hubspot_sandbox: HubSpotSandbox) -> None:
    hubspot_sandbox.emulator.limits = HubSpotLimits.unlimited()
    hubspot_sandbox.emulator.reset()
    assert hubspot_sandbox.emulator.limits == HubSpotLimits()
