"""Amounts and dates handed to dlt already in dlt's own typed-JSON form.

dlt writes extracted rows as "typed JSON": values JSON has no type for (``Decimal``, ``date``,
``datetime``) are written as strings tagged with a private-use character and decoded back into
the same Python type when dlt normalizes the file (dlt 1.31, ``dlt.common.json``:
``custom_pua_encode`` / ``custom_pua_decode``). The encoding runs in a Python callback for every
such value, and its first test (``isinstance(value, Wei)``, a runtime-checkable protocol) is
slow: with about 50 amounts and dates per invoice it was a fifth of the extract's CPU. Here the
parser builds the tagged text itself from the text it already holds (``str(Decimal)``, the
date's ISO form: exactly what dlt writes), so dlt's writer sees plain strings and the normalizer
still decodes a ``Decimal`` and a ``date``: the warehouse receives the same values. Amounts stay
exact — a tagged string is decoded with ``Decimal(text)``, never through a float.

The tags are read from dlt's public ``typed_dumps`` at import and checked with its decoder; if
a dlt version encoded differently, :data:`ENCODING` is False and the parser hands dlt typed
values as before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from dlt.common.json import custom_pua_decode, json


def _tag(sample: Any, text: str) -> str | None:
    """The prefix dlt puts before ``text`` when it writes ``sample``, if it round-trips."""
    dumped = json.typed_dumps(sample)
    if not (dumped.startswith('"') and dumped.endswith(f'{text}"')):
        return None
    tag = dumped[1 : -len(text) - 1]
    decoded = custom_pua_decode(tag + text)
    return tag if len(tag) == 1 and type(decoded) is type(sample) and decoded == sample else None


_DECIMAL_TAG = _tag(Decimal("-1.50"), "-1.50")
_DATE_TAG = _tag(date(2024, 6, 3), "2024-06-03")
_SAMPLE_MOMENT = datetime(2024, 6, 3, 10, 0, 0, 123000, tzinfo=UTC)
_DATETIME_TAG = _tag(_SAMPLE_MOMENT, _SAMPLE_MOMENT.isoformat())
ENCODING = None not in (_DECIMAL_TAG, _DATE_TAG, _DATETIME_TAG)
DECIMAL_TAG = _DECIMAL_TAG or ""
DATE_TAG = _DATE_TAG or ""
DATETIME_TAG = _DATETIME_TAG or ""
_TAGS = (DECIMAL_TAG, DATE_TAG, DATETIME_TAG) if ENCODING else ()


def decimal_for_dlt(value: Decimal, text: str) -> Any:
    """``value`` (whose ``str`` is ``text``) as dlt's writer should receive it."""
    return DECIMAL_TAG + text if ENCODING else value


def date_for_dlt(value: date) -> Any:
    return DATE_TAG + value.isoformat() if ENCODING else value


def datetime_for_dlt(value: datetime) -> Any:
    """An aware timestamp as dlt's writer should receive it (once the extract no longer
    compares it: the version tracker and the duplicate check need the ``datetime``)."""
    return DATETIME_TAG + value.isoformat() if ENCODING else value


def plain(value: Any) -> Any:
    """The text of a tagged value (its ``str``), any other value unchanged."""
    if type(value) is str and value[:1] in _TAGS:
        return value[1:]
    return value
