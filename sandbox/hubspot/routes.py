"""The route templates the HubSpot emulator serves, per API version, written from HubSpot's specs.

The sandbox imports nothing of the product (issue 21): these templates are the emulator's own,
so a path the client builds wrongly is a 404 here, as at HubSpot, instead of being accepted by
both sides from one shared definition. ``tests/sandbox/hubspot/test_routes.py`` checks that the
client's :class:`reverse_etl.hubspot.paths.HubSpotPaths` and these agree.

From ``HubSpot/HubSpot-public-api-spec-collection`` at commit
``99893791383254f52aa07662baeb98aad65cc710`` (21 Aug 2026), ``PublicApiSpecs/CRM/…``, date
version ``{V}`` (2026-03, 2026-09) against the numbered family:

- Schemas: ``/crm-object-schemas/{V}/schemas``; numbered ``/crm-object-schemas/v3/schemas``
  (and the older alias ``/crm/v3/schemas``, kept by :mod:`sandbox.hubspot.api_schemas`).
- Properties: ``/crm/properties/{V}/{objectType}``; numbered ``/crm/v3/properties/{objectType}``.
- Objects: ``/crm/objects/{V}/{objectType}``; numbered ``/crm/v3/objects/{objectType}``.
- Associations: ``/crm/associations/{V}/{from}/{to}/batch/{operation}`` and ``…/labels``;
  numbered ``/crm/v4/associations/…``.
- From ``2026-09`` a portal's required-property rules apply to API writes (changelog
  "crm-api-write-validation-enforcement", 11 Aug 2026).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMBERED = "v3"
#: The versions the emulator serves: the date versions, then the numbered family.
SERVED_VERSIONS: tuple[str, ...] = ("2026-03", "2026-09", NUMBERED)
_DATE_VERSION = re.compile(r"^\d{4}-(03|09)$")
_NUMBERED_PATH = re.compile(r"^/(crm/v\d+/|crm-object-schemas/v\d+/)")


def enforces_required_properties(version: str) -> bool:
    return bool(_DATE_VERSION.match(version)) and version >= "2026-09"


def is_numbered_path(path: str) -> bool:
    """A numbered-family path (``/crm/v3/…``, ``/crm/v4/…``, ``/crm-object-schemas/v3/…``)."""
    return bool(_NUMBERED_PATH.match(path))


@dataclass(frozen=True)
class HubSpotRoutes:
    """The route templates of one served version (``{placeholders}`` as aiohttp takes them)."""

    version: str

    @property
    def dated(self) -> bool:
        return self.version != NUMBERED

    def schemas(self) -> str:
        return f"/crm-object-schemas/{self.version}/schemas"

    def schema_associations(self, object_type: str) -> str:
        return f"{self.schemas()}/{object_type}/associations"

    def properties(self, object_type: str) -> str:
        if self.dated:
            return f"/crm/properties/{self.version}/{object_type}"
        return f"/crm/v3/properties/{object_type}"

    def objects(self, object_type: str) -> str:
        if self.dated:
            return f"/crm/objects/{self.version}/{object_type}"
        return f"/crm/v3/objects/{object_type}"

    def _associations(self, from_type: str, to_type: str) -> str:
        root = f"/crm/associations/{self.version}" if self.dated else "/crm/v4/associations"
        return f"{root}/{from_type}/{to_type}"

    def associations_batch(self, from_type: str, to_type: str, operation: str) -> str:
        return f"{self._associations(from_type, to_type)}/batch/{operation}"

    def association_labels(self, from_type: str, to_type: str) -> str:
        return f"{self._associations(from_type, to_type)}/labels"
