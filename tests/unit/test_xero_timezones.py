"""Xero's Organisation.Timezone values map to existing IANA zones."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pipelines.xero.timezones import iana_timezone, xero_to_iana


def test_every_xero_timezone_maps_to_a_real_iana_zone() -> None:
    table = xero_to_iana()
    assert len(table) == 141  # the TimeZone enum of Xero's OpenAPI spec
    for iana in table.values():
        ZoneInfo(iana)


def test_known_values_and_unknown_ones() -> None:
    assert iana_timezone("NEWZEALANDSTANDARDTIME") == "Pacific/Auckland"
    assert iana_timezone("New Zealand Standard Time") == "Pacific/Auckland"
    assert iana_timezone("EAUSTRALIASTANDARDTIME") == "Australia/Brisbane"
    assert iana_timezone("UTC02") == "Etc/GMT+2"
    assert iana_timezone("MARSSTANDARDTIME") is None and iana_timezone(None) is None
