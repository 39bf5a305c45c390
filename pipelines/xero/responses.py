"""Reading Xero's answers: ``Retry-After``, the problem text, the path for messages."""

from __future__ import annotations

from collections.abc import Mapping

import requests


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds, or None when Xero sent none (or an unreadable one)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]


def _detail(response: requests.Response) -> str:
    """Xero's problem text (``Detail``/``Message``/``Title``), short; never request headers."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or str(response.status_code)
    if isinstance(body, dict):
        for key in ("Detail", "detail", "Message", "message", "Title", "title", "error"):
            if body.get(key):
                return str(body[key])[:300]
    return response.reason or str(response.status_code)
