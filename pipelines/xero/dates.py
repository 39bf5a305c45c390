"""Xero's Microsoft JSON dates, parsed once, here.

Xero's JSON writes dates as ``"/Date(1518685950940+0000)/"``: milliseconds since the Unix
epoch (UTC), optionally followed by the organisation's offset; the envelope's ``DateTimeUTC``
has no offset part (``"/Date(1573755038314)/"``). Date-only fields (``Date``, ``DueDate``,
``FullyPaidOnDate``) are midnight of the calendar date. (Xero's published GetInvoices example;
the ``xero-python`` deserializer's ``MS_DATETIME_RE`` accepts both forms.) ISO 8601 strings
(``DateString``-style ``"2018-10-20T00:00:00"``) are accepted too, since some Xero payloads use
them.

A date outside :data:`EARLIEST`..:data:`LATEST` is refused with :class:`XeroDateError` (and
so quarantined, naming the invoice): milliseconds beyond what Python's ``datetime`` holds (year
1..9999) used to escape as ``OverflowError: date value out of range``, and dates that fit
Python but no real invoice (year 1 or 9999) break the models that count days from them
(balances per day, ageing) or HubSpot's date properties. The bounds are this project's choice,
not a documented Xero limit: wide enough for any real ledger, narrow enough to catch a
corrupted value.

``If-Modified-Since`` takes a UTC timestamp to the second (``yyyy-mm-ddThh:mm:ss``; the API
rejects or ignores milliseconds), see :func:`if_modified_since_header`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
_RANGE = f"{EARLIEST:%Y-%m-%d}..{LATEST:%Y-%m-%d}"
_NO_OFFSET = timedelta()


class XeroDateError(ValueError):
    """A value that is not a Xero date (message says what was expected)."""


def _split_ms(value: str) -> tuple[datetime, timedelta]:
    if value.endswith("+0000)/"):  # the common form, without the regular expression
        digits = value[6:-7]
        if len(digits) <= 14 and digits.isascii() and digits.isdigit():  # < year 5138
            moment = _EPOCH + timedelta(milliseconds=int(digits))
            if moment <= LATEST:  # and >= 1970 > EARLIEST
                return moment, _NO_OFFSET
    match = _MS_DATE.match(value)
    if match is None:
        raise XeroDateError(f"{value!r} is not a Xero date (expected /Date(<ms>+0000)/)")
    try:
        moment = _EPOCH + timedelta(milliseconds=int(match.group(1)))
    except (OverflowError, ValueError):
        raise XeroDateError(f"{value!r} is outside the accepted date range ({_RANGE})") from None
    _check_range(moment, value)
    offset = timedelta()
    if match.group(2):
        sign = -1 if match.group(2)[0] == "-" else 1
        hours, minutes = int(match.group(2)[1:3]), int(match.group(2)[3:5])
        offset = sign * timedelta(hours=hours, minutes=minutes)
    return moment, offset


def _parse_iso(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise XeroDateError(
            f"{value!r} is not a Xero date (expected /Date(<ms>+0000)/ or ISO 8601)"
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        _check_range(parsed.astimezone(UTC), value)
    except OverflowError:  # year 1 or 9999 with an offset that crosses the edge
        raise XeroDateError(f"{value!r} is outside the accepted date range ({_RANGE})") from None
    return parsed


def _check_range(moment: datetime, value: str) -> None:
    if not EARLIEST <= moment <= LATEST:
        raise XeroDateError(f"{value!r} is outside the accepted date range ({_RANGE})")


def parse_datetime(value: object) -> datetime | None:
    """A Xero timestamp as an aware UTC datetime (``None`` stays ``None``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise XeroDateError(f"{value!r} is not a Xero date (expected a string)")
    if value.startswith("/Date("):
        return _split_ms(value)[0]
    return _parse_iso(value).astimezone(UTC)


def parse_date(value: object) -> date | None:
    """A Xero date-only field as a calendar date (the local date when an offset is given)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise XeroDateError(f"{value!r} is not a Xero date (expected a string)")
    if value.startswith("/Date("):
        moment, offset = _split_ms(value)
        return (moment + offset).date()  # within range ± 14 h: cannot overflow
    return _parse_iso(value).date()


def if_modified_since_header(moment: datetime) -> str:
    """``If-Modified-Since`` value: UTC, truncated to the second (Xero takes no milliseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
