"""Xero's ``Organisation.Timezone`` values → IANA time zone names.

Xero writes the organisation's zone as its own enum (``TimeZone`` in ``xero_accounting.yaml``
of XeroAPI/Xero-OpenAPI, 141 values such as ``NEWZEALANDSTANDARDTIME``): the Windows time zone
id upper-cased with spaces, dots and hyphens removed (``New Zealand Standard Time``,
``E. Australia Standard Time`` → ``EAUSTRALIASTANDARDTIME``, ``UTC-02`` → ``UTC02``).

``xero_timezones.csv`` beside this module holds, for each of the 141 values, the Windows id and
the IANA zone of Unicode CLDR's ``windowsZones.xml`` (its territory ``001`` "golden" zone;
taken from the mapping the ``tzlocal`` package generates from that file, version 5.4). Two
values are Windows zones CLDR no longer lists and were mapped by hand: ``Kamchatka Standard
Time`` → ``Asia/Kamchatka`` and ``Mid-Atlantic Standard Time`` → ``Etc/GMT+2`` (UTC−02, as
older CLDR releases mapped it). Every IANA name is checked to exist by the unit tests.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("xero_timezones.csv")


@cache
def xero_to_iana() -> dict[str, str]:
    with TABLE.open(encoding="utf-8", newline="") as handle:
        return {row["xero_timezone"]: row["iana_timezone"] for row in csv.DictReader(handle)}


def iana_timezone(xero_timezone: str | None) -> str | None:
    """The IANA name for Xero's value (case and spacing forgiven); ``None`` when unknown, so a
    new Xero value never fails a run (the raw value stays in ``xero_timezone``)."""
    if not xero_timezone:
        return None
    key = "".join(ch for ch in xero_timezone.upper() if ch not in " .-")
    return xero_to_iana().get(key)
