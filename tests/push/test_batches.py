"""Unit tests of the pieces a real HubSpot exercises that the emulator cannot (whole-batch 400s,
errors naming several inputs) and of the rate limiter's arithmetic."""

from __future__ import annotations

from typing import Any

from reverse_etl.hubspot.answers import forbidden_message
from reverse_etl.hubspot.client import (
    BatchError,
    HubSpotRequestError,
    RateLimiter,
    UpsertAnswer,
    UpsertResult,
)
from reverse_etl.hubspot.limiter import SEARCH_PER_SECOND, SEARCH_WINDOW_SECONDS
from reverse_etl.push.actions import Action
from reverse_etl.push.invoice_batches import _read_batch_answer, upsert_isolating_rejects
from tests.push.conftest import SimClock, invoice


def _action(n: int) -> Action:
    values = invoice(n)
    return Action(str(values["xero_invoice_id"]), "INSERT", None, (), values)


def _result(action: Action, hs_id: str) -> UpsertResult:
    return UpsertResult(hs_id, True, {"xero_invoice_id": action.xero_invoice_id}, None, None)


class FakeHub:
    """Answers a whole-batch 400 whenever a batch contains a bad id, like HubSpot validating a
    batch as a whole; otherwise a 200 with every input written."""

    def __init__(self, bad: set[str]) -> None:
        self.bad = bad
        self.calls = 0

    def batch_upsert(self, _object_type: str, inputs: list[dict[str, Any]]) -> Any:
        self.calls += 1
        ids = [i["id"] for i in inputs]
        if self.bad & set(ids):
            raise HubSpotRequestError("upsert", 400, "VALIDATION_ERROR", "Property values invalid")
        results = [
            UpsertResult(f"hs-{i}", True, {"xero_invoice_id": i}, None, None)
            for i in reversed(ids)  # HubSpot does not promise input order
        ]
        return UpsertAnswer(200, results, [])


def test_whole_batch_400_is_bisected_so_the_good_records_land() -> None:
    batch = [_action(n) for n in range(1, 101)]
    bad = {batch[13].xero_invoice_id, batch[77].xero_invoice_id}
    hub = FakeHub(bad)

    outcome = upsert_isolating_rejects(hub, "2-1", batch)  # type: ignore[arg-type]

    assert {r.xero_invoice_id for r in outcome.rejected} == bad
    assert len(outcome.written) == 98
    assert all(w.hs_object_id == f"hs-{w.xero_invoice_id}" for w in outcome.written)
    assert hub.calls <= 2 * 2 * 8  # two bad records, ~log2(100) levels each


def test_every_207_error_is_reported_not_only_the_first() -> None:
    batch = [_action(n) for n in range(1, 6)]
    errors = [
        BatchError("VALIDATION_ERROR", "bad date", {"id": [batch[1].xero_invoice_id]}),
        BatchError("VALIDATION_ERROR", f"{batch[3].xero_invoice_id} has an invalid status", {}),
        BatchError("CONFLICT", "unattributable", {}),
    ]
    answer = UpsertAnswer(207, [_result(batch[0], "1"), _result(batch[2], "3")], errors)

    outcome = _read_batch_answer(batch, answer)

    rejected = {r.xero_invoice_id: r for r in outcome.rejected}
    assert set(rejected) == {batch[1].xero_invoice_id, batch[3].xero_invoice_id,
                             batch[4].xero_invoice_id}  # fmt: skip
    assert rejected[batch[1].xero_invoice_id].message == "bad date"
    assert "invalid status" in rejected[batch[3].xero_invoice_id].message
    assert rejected[batch[4].xero_invoice_id].message == "unattributable"
    assert [w.hs_object_id for w in outcome.written] == ["1", "3"]


def test_limiter_keeps_a_rolling_window() -> None:
    clock = SimClock()
    limiter = RateLimiter(5, clock=clock.monotonic, sleep=clock.sleep)
    sent = []
    for _ in range(12):
        limiter.acquire()
        sent.append(clock.monotonic())
    assert sent[:5] == [sent[0]] * 5
    assert sent[5] - sent[0] >= 10.0 and sent[10] - sent[5] >= 10.0
    assert all(b - a >= 10.0 for a, b in zip(sent, sent[5:], strict=False))


def test_search_limiter_keeps_its_one_second_window() -> None:
    clock = SimClock()
    limiter = RateLimiter(
        SEARCH_PER_SECOND, window=SEARCH_WINDOW_SECONDS, clock=clock.monotonic, sleep=clock.sleep
    )
    sent = []
    for _ in range(9):
        limiter.acquire()
        sent.append(clock.monotonic())
    assert SEARCH_PER_SECOND == 4 and sent[:4] == [sent[0]] * 4
    assert all(1.0 <= b - a < 1.2 for a, b in zip(sent, sent[4:], strict=False))


def test_limiter_adapts_to_hubspot_headers() -> None:
    clock = SimClock()
    limiter = RateLimiter(190, clock=clock.monotonic, sleep=clock.sleep)
    limiter.acquire()
    limiter.observe(
        {
            "x-hubspot-ratelimit-max": "100",
            "x-hubspot-ratelimit-remaining": "40",  # another app used 59 of them
            "x-hubspot-ratelimit-interval-milliseconds": "10000",
        }
    )
    assert limiter.limit == 100
    for _ in range(40):
        limiter.acquire()
    assert clock.monotonic() == 1000.0  # 40 more fit at once
    limiter.acquire()
    assert clock.monotonic() >= 1010.0  # the 41st waits for the window


def test_hold_after_429_pauses_everyone() -> None:
    clock = SimClock()
    limiter = RateLimiter(100, clock=clock.monotonic, sleep=clock.sleep)
    limiter.hold(3.0)
    limiter.acquire()
    assert clock.monotonic() >= 1003.0


def test_403_names_the_scope_hubspot_lists() -> None:
    body = {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "category": "MISSING_SCOPES",
        "errors": [{"context": {"requiredGranularScopes": ["crm.objects.custom.write"]}}],
    }
    text = forbidden_message("POST /crm/objects/2026-09/2-1/batch/upsert", body, "fb.scope", "k")
    assert "crm.objects.custom.write" in text and "HUBSPOT_ACCESS_TOKEN" in text
    assert "Service Key" in text and "Development → Keys → Service keys" in text
    private = forbidden_message("GET x", {}, "fb.scope", "pat-na1-123")
    assert "fb.scope" in private and "private app" in private and "Private apps" in private
