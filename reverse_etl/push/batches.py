"""The one batch sender of the push: invoices, companies and associations all go through it.

Items are cut into batches of at most ``size`` (HubSpot's batch limits: 100 inputs for object
batch endpoints, 1,000 for association batches) and sent ``max_in_flight`` at a time: the HTTP
call runs in a worker thread, through the one :class:`~reverse_etl.hubspot.client.HubSpot`
client and its shared rate limiter, so throughput reaches HubSpot's limit rather than the
round-trip time. Each answer is handed back to the caller's thread, which alone writes the DB.
The answers that arrived together come back as one round, so a caller may record them in one
transaction. With one batch, or ``max_in_flight`` 1, the calls run in the caller's thread, one
after the other, each answer handed back before the next call is made.

A failed call stops further sends; the answers already in (and those of the batches still in
flight) are still handed back, then the first error is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
A = TypeVar("A")


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def send_batches(
    items: Sequence[T],
    size: int,
    send: Callable[[list[T]], A],
    *,
    max_in_flight: int,
    name: str,
) -> Iterator[list[tuple[list[T], A]]]:
    """Send ``items`` in batches of ``size`` through ``send`` (called in a worker thread: HTTP
    only); yield each round of ``(batch, answer)`` pairs that came back together. ``name``
    prefixes the worker threads' names."""
    batches = list(chunks(items, size))
    workers = max(1, min(max_in_flight, len(batches)))
    if workers == 1:
        for batch in batches:
            yield [(batch, send(batch))]
        return
    fatal: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        queue = iter(batches)
        pending: dict[Future[A], list[T]] = {}
        while True:
            while fatal is None and len(pending) < workers:
                batch = next(queue, None)
                if batch is None:
                    break
                pending[pool.submit(send, batch)] = batch
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            arrived: list[tuple[list[T], A]] = []
            for future in done:
                batch = pending.pop(future)
                try:
                    arrived.append((batch, future.result()))
                except BaseException as exc:  # stop sending; still hand back what landed
                    fatal = fatal or exc
            yield arrived
    if fatal is not None:
        raise fatal
