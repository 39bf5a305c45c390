"""Rate limits (minute, day, concurrent, app minute) and injected faults, over HTTP."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sandbox.xero import XeroLimits
from tests.sandbox.xero.conftest import XeroHttp


def test_every_answer_carries_the_remaining_calls(xero_http: XeroHttp) -> None:
    first = xero_http.invoices({"page": 1, "pageSize": 1})
    assert first.headers["X-MinLimit-Remaining"] == "59"
    assert first.headers["X-DayLimit-Remaining"] == "4999"
    assert first.headers["X-AppMinLimit-Remaining"] == "9999"  # the token call is not counted
    second = xero_http.invoices({"page": 1, "pageSize": 1})
    assert second.headers["X-MinLimit-Remaining"] == "58"


def test_minute_limit_gives_429_with_retry_after_and_recovers(xero_http: XeroHttp) -> None:
    clock = xero_http.sandbox.clock
    for _ in range(60):
        assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200
        clock.advance(seconds=0.5)
    refused = xero_http.invoices({"page": 1, "pageSize": 1})
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 31
    clock.advance(seconds=retry_after)
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200
    counters = xero_http.sandbox.emulator.counters.snapshot()
    assert counters["by_status"] == {"200": 62, "429": 1}  # 61 reads + the token
    assert counters["by_route"]["GET /api.xro/2.0/Invoices"] == 62


def test_day_limit(xero_http: XeroHttp) -> None:
    emulator, clock = xero_http.sandbox.emulator, xero_http.sandbox.clock
    emulator.limits = XeroLimits(per_day=3, per_minute=None)
    for _ in range(3):
        assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200
        clock.advance(seconds=300)
    refused = xero_http.invoices({"page": 1, "pageSize": 1})
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "day"
    assert refused.headers["X-DayLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) > 80_000
    clock.advance(seconds=int(refused.headers["Retry-After"]))
    xero_http.login()  # the old access token has long expired
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200


def test_app_minute_limit(xero_http: XeroHttp) -> None:
    xero_http.sandbox.emulator.limits = XeroLimits(app_per_minute=2)
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200
    assert xero_http.get("/connections").status_code == 200
    refused = xero_http.invoices({"page": 1, "pageSize": 1})
    assert (refused.status_code, refused.headers["X-Rate-Limit-Problem"]) == (429, "appminute")


def test_concurrent_limit(xero_http: XeroHttp) -> None:
    emulator = xero_http.sandbox.emulator
    emulator.limits = XeroLimits(concurrent=2, per_minute=None)
    emulator.faults.add("slow", path_prefix="/api.xro/", seconds=0.6, times=None)
    headers = {
        "Authorization": f"Bearer {xero_http.access_token}",
        "xero-tenant-id": xero_http.tenant_id or "",
        "Accept": "application/json",
    }
    url = f"{xero_http.sandbox.url}/api.xro/2.0/Invoices?page=1&pageSize=1"

    def call(delay: float) -> requests.Response:
        time.sleep(delay)
        return requests.get(url, headers=headers, timeout=10)

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(call, (0.0, 0.0, 0.3)))
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["X-Rate-Limit-Problem"] == "concurrent"
    # Xero sends Retry-After with the minute and day refusals only
    assert "Retry-After" not in answers[2].headers


def test_day_limit_per_tier(xero_http: XeroHttp) -> None:
    """Starter apps get fewer calls a day than standard ones; a number works too."""
    assert XeroLimits.for_tier("starter").per_day == 1_000
    assert XeroLimits.for_tier("standard").per_day == 5_000
    assert XeroLimits.for_tier(250).per_day == 250
    with pytest.raises(ValueError, match="unknown Xero tier"):
        XeroLimits.for_tier("gold")
    url = f"{xero_http.sandbox.url}/_sandbox/limits"
    assert requests.post(url, json={"tier": "starter"}).json()["per_day"] == 1_000
    first = xero_http.invoices({"page": 1, "pageSize": 1})
    assert first.headers["X-DayLimit-Remaining"] == "999"
    assert requests.post(url, json={"tier": "3"}).json()["per_day"] == 3
    assert requests.post(url, json={"tier": "platinum"}).status_code == 400
    assert requests.post(url, json={"default": True}).json()["per_day"] == 5_000


def test_unlimited_and_limits_over_http(xero_http: XeroHttp) -> None:
    url = f"{xero_http.sandbox.url}/_sandbox/limits"
    assert requests.get(url).json()["per_minute"] == 60
    assert requests.post(url, json={"per_minute": 1}).json()["per_minute"] == 1
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 429
    assert requests.post(url, json={"unlimited": True}).json()["per_minute"] is None
    assert all(xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200 for _ in range(70))
    assert requests.post(url, json={"colour": 1}).status_code == 400
    assert XeroLimits.unlimited().per_day is None


def test_5xx_fault_has_a_xero_like_body_and_is_counted(xero_http: XeroHttp) -> None:
    emulator = xero_http.sandbox.emulator
    emulator.faults.add("status", path_prefix="/api.xro/2.0/Invoices", status=500, times=1)
    failed = xero_http.invoices({"page": 1, "pageSize": 1})
    assert failed.status_code == 500
    assert failed.json()["Type"] == "InternalServerErrorException"
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200
    emulator.faults.add("status", path_prefix="/api.xro/", status=503, times=1)
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 503
    counts = requests.get(f"{xero_http.sandbox.url}/_sandbox/counters").json()
    assert counts["by_route"]["GET /api.xro/2.0/Invoices"] == 3
    assert counts["by_status"]["500"] == 1 and counts["by_status"]["503"] == 1
    assert emulator.counters.total("POST /connect/token") == 1


def test_429_storm(xero_http: XeroHttp) -> None:
    xero_http.sandbox.emulator.faults.add("status", path_prefix="/api.xro/", status=429, times=3,
                                          retry_after=2)  # fmt: skip
    answers = [xero_http.invoices({"page": 1, "pageSize": 1}) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200]
    assert answers[0].headers["Retry-After"] == "2"
    assert answers[0].headers["X-Rate-Limit-Problem"] == "minute"


def test_dropped_connection(xero_http: XeroHttp) -> None:
    xero_http.sandbox.emulator.faults.add("drop", path_prefix="/api.xro/", times=1)
    with pytest.raises(requests.ConnectionError):
        xero_http.invoices({"page": 1, "pageSize": 1})
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200


def test_slow_response(xero_http: XeroHttp) -> None:
    xero_http.sandbox.emulator.faults.add("slow", path_prefix="/api.xro/", seconds=0.3, times=1)
    started = time.perf_counter()
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200
    assert time.perf_counter() - started >= 0.3
    xero_http.sandbox.emulator.faults.add("slow", path_prefix="/api.xro/", seconds=1, times=1)
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{xero_http.sandbox.url}/api.xro/2.0/Invoices",
            headers={
                "Authorization": f"Bearer {xero_http.access_token}",
                "xero-tenant-id": xero_http.tenant_id or "",
                "Accept": "application/json",
            },
            timeout=0.2,
        )
    assert xero_http.invoices({"page": 1, "pageSize": 1}).status_code == 200  # still serving
