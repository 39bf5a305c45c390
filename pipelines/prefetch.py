"""Fetch the next page while the current one is processed (one background thread)."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()


def prefetched(pages: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run ``pages`` in a worker thread, ``depth`` pages ahead; errors re-raise in the caller.

    Closing the consumer (an error while loading, which fails the run) stops the worker before
    its next request; a request already in flight finishes in the background.
    """
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        items.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(exc)

    worker = threading.Thread(target=work, name="xero-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the worker stops before its next request; it is not waited for
        with contextlib.suppress(queue.Empty):
            items.get_nowait()  # frees a worker blocked on a full queue
