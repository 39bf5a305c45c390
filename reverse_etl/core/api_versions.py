"""The HubSpot API versions the tool speaks: what ``HUBSPOT_API_VERSION`` accepts.

Settings validate the variable against these, and :mod:`reverse_etl.hubspot.paths` builds each
version's paths; here, below both, so the settings need nothing of the HubSpot client. The
versions and their support windows are documented in :mod:`reverse_etl.hubspot.paths`.
"""

from __future__ import annotations

import re

NUMBERED = "v3"
#: Date versions this project is tested against (client and emulator), oldest first.
DATE_VERSIONS: tuple[str, ...] = ("2026-03", "2026-09")
#: The newest date version tested: what ``HUBSPOT_API_VERSION`` defaults to.
DEFAULT_API_VERSION = DATE_VERSIONS[-1]
#: Every value ``HUBSPOT_API_VERSION`` accepts.
SUPPORTED_VERSIONS: tuple[str, ...] = (*DATE_VERSIONS, NUMBERED)
_DATE_VERSION = re.compile(r"^\d{4}-(03|09)$")


def is_date_version(version: str) -> bool:
    return bool(_DATE_VERSION.match(version))
