"""Xero's paged list endpoints: what a page is, and when paging stops.

- Paging: ``page`` (1-based) and ``pageSize``; a ``pagination`` object (``pageCount``) in recent
  API versions (see :mod:`pipelines.xero.client` for the rest of the Xero behaviour relied on).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipelines.xero.dates import parse_datetime

API_PREFIX = "/api.xro/2.0"
XERO_DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Endpoint:
    """A paged Xero list endpoint: its path, the envelope key of its records, the immutable
    key it is ordered by (see :meth:`XeroClient.invoice_pages`), fixed query parameters."""

    path: str
    key: str
    order: str | None = None
    params: tuple[tuple[str, str], ...] = ()


INVOICES = Endpoint("Invoices", "Invoices", "InvoiceID")


@dataclass
class InvoicePage:
    invoices: list[dict[str, Any]]
    page: int
    server_time: datetime | None
    order: str | None = None  # the ``order`` the page was read in (None: Xero's default)
    tagged: bool = False  # the raw answer holds a typed-JSON tag (pipelines.dlt_import)


# Paging order: an immutable key, so an invoice edited mid-read cannot shift an unread one onto
# a page already read. Dropped (with a warning) if Xero ever refuses it: see ``_pages``.
INVOICE_ORDER = "InvoiceID"


def _page_ids(records: list[dict[str, Any]], endpoint: Endpoint) -> tuple[Any, ...]:
    """What identifies a page: its records' ids in order (the whole records if the endpoint
    names no id key)."""
    if endpoint.order:
        return tuple(r.get(endpoint.order) for r in records)
    return tuple(json.dumps(r, sort_keys=True, default=str) for r in records)


def _same_page_message(endpoint: Endpoint, page: int, count: int) -> str:
    """Page N+1 holding exactly the records of page N cannot happen when ``page`` is honoured
    (pages are disjoint slices of one order): the server ignores ``page``, and reading on would
    fetch the same page until the day limit while the rest is never read."""
    return (
        f"Xero answered page {page} of {API_PREFIX}/{endpoint.path} with the same {count} "
        f"record(s) as page {page - 1}: it seems to ignore the page parameter. Stopped reading "
        "(reading on would repeat that page until the day limit and never reach the rest). "
        "Rerun later; if it persists, check XERO_BASE_URL and Xero's status page."
    )


def _last_page(
    body: Mapping[str, Any], invoices: list[Any], page: int, page_size: int, honoured: bool
) -> tuple[bool, bool]:
    """Whether ``page`` was the last, and whether the server honours a ``pageSize`` over
    Xero's default (learnt from a longer page when it sends no ``pagination``)."""
    pagination = body.get("pagination")
    if isinstance(pagination, dict) and pagination.get("pageCount") is not None:
        if page >= int(pagination["pageCount"]):
            return True, honoured
        if len(invoices) < int(pagination.get("pageSize") or page_size):
            return True, honoured
    else:
        honoured = honoured or len(invoices) > XERO_DEFAULT_PAGE_SIZE
        if len(invoices) < (page_size if honoured else XERO_DEFAULT_PAGE_SIZE):
            return True, honoured
    return False, honoured


def _server_time(body: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_datetime(body.get("DateTimeUTC"))
    except ValueError:
        return None
