"""One value of the environment contract at a time (:mod:`reverse_etl.core.settings`): a
``.env`` file read strictly, and each kind of value (yes/no, whole number, URL, list, API
version) checked with a :class:`ConfigError` naming the variable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from dotenv.parser import parse_stream

from reverse_etl.core.api_versions import DEFAULT_API_VERSION, SUPPORTED_VERSIONS
from reverse_etl.core.errors import ConfigError

_ASSIGNMENT = re.compile(r"^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=")


def read_dotenv(path: Path) -> dict[str, str]:
    """The variables of a ``.env`` file; :class:`ConfigError` for a line that cannot be read."""

    values: dict[str, str] = {}
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            line = binding.original.line
            if binding.error:
                text = binding.original.string.strip()
                raise ConfigError(
                    f"{path} line {line} cannot be read ({text[:40]!r}): close the quote or "
                    "remove the line. Nothing was run."
                )
            if binding.key is None or binding.value is None:
                continue
            swallowed = [
                other.split("=", 1)[0].strip()
                for other in binding.value.splitlines()[1:]
                if _ASSIGNMENT.match(other)
            ]
            if swallowed:
                raise ConfigError(
                    f"{path} line {line}: the quoted value of {binding.key} runs over several "
                    f"lines and swallows {', '.join(swallowed)}; a closing quote is missing."
                )
            values[binding.key] = binding.value
    return values


def required(values: Mapping[str, str], name: str, what: str) -> str:
    value = values.get(name)
    if not value:
        raise ConfigError(f"{name} is not set: set it to {what}.")
    return value


def split_list(raw: str) -> tuple[str, ...]:
    return tuple(part for part in re.split(r"[\s,]+", raw) if part)


def api_url(values: Mapping[str, str], name: str, value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"{name}={value!r} is not a URL: use the form https://host[:port] "
            "(no path for the API hosts)."
        )
    return value.rstrip("/")


def yes_no(values: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (values.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} is {raw!r}: use true or false.")


def whole_number(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = values.get(name)
    if raw is None:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number ({low} to {high}).") from None
    if not low <= number <= high:
        raise ConfigError(f"{name}={number} is out of range: use {low} to {high}.")
    return number


def api_version(value: str) -> str:
    """``HUBSPOT_API_VERSION``: one of the versions :mod:`reverse_etl.hubspot.paths` builds
    paths for (the date versions tested, or the numbered family ``v3``)."""
    if value not in SUPPORTED_VERSIONS:
        raise ConfigError(
            f"HUBSPOT_API_VERSION={value!r} is not a HubSpot API version this tool supports: "
            f"use one of {', '.join(SUPPORTED_VERSIONS)} (default {DEFAULT_API_VERSION})."
        )
    return value


def mask(secret: str | None) -> str:
    """Show that a secret is set without showing it: first 4 characters at most, then stars."""
    if not secret:
        return "(not set)"
    if len(secret) <= 8:
        return "****"
    return secret[:4] + "****"


def mask_url(url: str) -> str:
    """Alert URLs embed tokens (``slack://T/B/secret``): keep only the scheme."""
    scheme, _, _rest = url.partition("://")
    return f"{scheme}://****" if _rest else "****"


def redact_url(url: str) -> str:
    """``url`` without the secrets it may carry: ``user:password@`` and query values."""
    parsed = urlparse(url)
    netloc = parsed.netloc
    if "@" in netloc:
        netloc = "****@" + netloc.rpartition("@")[2]
    query = "****" if parsed.query else ""
    return urlunparse(parsed._replace(netloc=netloc, query=query))
