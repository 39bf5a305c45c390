"""Unit tests of the push's one batch sender (reverse_etl.push.batches), which the invoice upserts,
the company writes and the association writes all go through."""

from __future__ import annotations

import threading

import pytest

from reverse_etl.push.batches import chunks, send_batches


def test_chunks_cut_items_in_order_with_a_short_last_batch() -> None:
    assert [len(c) for c in chunks(list(range(250)), 100)] == [100, 100, 50]
    assert [c[0] for c in chunks(list(range(250)), 100)] == [0, 100, 200]
    assert list(chunks([], 100)) == []


def test_one_in_flight_sends_in_the_callers_thread_each_answer_before_the_next_call() -> None:
    events: list[str] = []
    caller = threading.current_thread()

    def send(batch: list[int]) -> int:
        assert threading.current_thread() is caller
        events.append(f"send {batch[0]}")
        return sum(batch)

    for answers in send_batches(list(range(5)), 2, send, max_in_flight=1, name="t"):
        for batch, answer in answers:
            events.append(f"got {batch[0]}={answer}")

    assert events == ["send 0", "got 0=1", "send 2", "got 2=5", "send 4", "got 4=4"]


def test_batches_go_max_in_flight_at_a_time_and_every_answer_comes_back() -> None:
    running = 0
    most = 0
    lock = threading.Lock()
    together = threading.Barrier(3)  # broken (an error) unless three calls run at once

    def send(batch: list[int]) -> list[int]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        if batch[0] < 3:
            together.wait(timeout=10)
        with lock:
            running -= 1
        return batch

    items = list(range(10))
    got = [
        answer
        for answers in send_batches(items, 1, send, max_in_flight=3, name="t")
        for batch, answer in answers
        if batch == answer
    ]

    assert sorted(x for answer in got for x in answer) == items
    assert most == 3


def test_a_failed_call_still_hands_back_every_batch_in_flight_then_raises() -> None:
    sent: list[int] = []
    zero_failed = threading.Event()

    def send(batch: list[int]) -> int:
        sent.append(batch[0])
        if batch[0] == 0:
            zero_failed.set()
            raise RuntimeError("HubSpot is down")
        if batch[0] == 1:  # in flight beside the failed one
            assert zero_failed.wait(timeout=10)
        return batch[0]

    landed: list[int] = []
    with pytest.raises(RuntimeError, match="HubSpot is down"):
        for answers in send_batches(list(range(100)), 1, send, max_in_flight=2, name="t"):
            landed += [answer for _, answer in answers]

    assert sorted(sent[:2]) == [0, 1]
    assert 1 in landed and 0 not in landed
    assert sorted(landed) == sorted(set(sent) - {0})  # every other batch sent was handed back
    assert len(sent) < 100  # sending stopped once the failure was seen
