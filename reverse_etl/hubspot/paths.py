"""Every HubSpot path the tool calls, built in one place for the configured API version.

``HUBSPOT_API_VERSION`` picks the family: a date version (``2026-03``, ``2026-09``) or the
numbered family ``v3`` (objects, properties and schemas under ``v3``, associations under ``v4``),
kept for portals and proxies that still expect it. :class:`reverse_etl.hubspot.client.HubSpot`
(setup, push, webhooks) and :mod:`pipelines.hubspot_snapshot.client` take their paths from here, and
so does the sandbox (:mod:`sandbox.hubspot.emulator`), so client and emulator cannot drift.

Checked against HubSpot's own specs, ``HubSpot/HubSpot-public-api-spec-collection`` at commit
``99893791383254f52aa07662baeb98aad65cc710`` (21 Aug 2026), ``PublicApiSpecs/CRM/…``:

Date version ``{V}`` (2026-03 and 2026-09 alike) against the numbered family:

- Schemas (``Schemas/Rollouts/145900/{V}/schemas.json``): ``/crm-object-schemas/{V}/schemas``
  and ``…/schemas/{objectType}``; numbered ``/crm-object-schemas/v3/schemas``.
- Properties (``Properties/Rollouts/145899``): ``/crm/properties/{V}/{objectType}`` and
  ``…/{objectType}/{propertyName}``; numbered ``/crm/v3/properties/{objectType}``.
- Objects (``Objects/Rollouts/424``, ``Custom Objects/Rollouts/424``):
  ``/crm/objects/{V}/{objectType}``, ``…/{objectId}``, ``…/batch/{create|read|update|upsert|
  archive}``, ``…/search``; numbered ``/crm/v3/objects/{objectType}…``.
- Associations (``Associations/Rollouts/130902``): ``/crm/associations/{V}/{from}/{to}/batch/
  {create|read|archive|associate/default|labels/archive}``; per record
  ``/crm/objects/{V}/{type}/{id}/associations/{toType}/{toId}`` (PUT, DELETE) and
  ``…/associations/default/{toType}/{toId}`` (PUT); labels (``Associations Schema``)
  ``/crm/associations/{V}/{from}/{to}/labels``. Numbered: ``/crm/v4/associations/…`` and
  ``/crm/v4/objects/{type}/{id}/associations/…``.

Differences from ``/work/shared/API_FACTS.md`` and between versions, as the reference shows:

- Properties live at ``/crm/properties/{V}/…`` (the version after ``properties``, not after
  ``crm``); search at ``/crm/objects/{V}/{type}/search`` — both as API_FACTS guessed, now
  confirmed.
- Associations move from ``/crm/v4/associations/…`` to ``/crm/associations/{V}/…`` (version
  after ``associations``), while the per-record association routes move from
  ``/crm/v4/objects/…`` to ``/crm/objects/{V}/…``.
- ``GET /crm/objects/{V}/{type}/{id}/associations/{toType}`` (list one record's associations)
  is in the 2026-03 reference but *not* in 2026-09's: read associations with
  ``POST …/batch/read`` (:meth:`HubSpotPaths.associations_batch`), present in every version.

HubSpot's docs (developers.hubspot.com/docs/api-reference/latest/overview and the changelog
post "introducing-date-based-api-versioning"): paths follow ``/api-name/YYYY-MM/resource`` on
the same host; a new version ships each March and September and is supported for at least 18
months; the numbered v1–v3 APIs are unsupported from September 2027 and v4 associations from
30 March 2027. Changelog "crm-api-write-validation-enforcement": from ``2026-09`` HubSpot
enforces a portal's required-property rules on API writes (see
:func:`enforces_required_properties`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from reverse_etl.core.api_versions import (
    DATE_VERSIONS,
    DEFAULT_API_VERSION,
    NUMBERED,
    SUPPORTED_VERSIONS,
    is_date_version,
)

__all__ = [
    "DATE_VERSIONS",
    "DEFAULT_API_VERSION",
    "NUMBERED",
    "SUPPORTED_VERSIONS",
    "HubSpotPaths",
    "enforces_required_properties",
    "is_date_version",
    "is_numbered_path",
]


def enforces_required_properties(version: str) -> bool:
    """From ``2026-09`` on, a portal's required-property rules apply to every API create and
    update (changelog "crm-api-write-validation-enforcement", 11 Aug 2026)."""
    return is_date_version(version) and version >= "2026-09"


_PLACEHOLDER = re.compile(r"^\{\w+\}$")


def _seg(value: str) -> str:
    """One path segment, percent-encoded (object types such as ``p123_xero_invoice`` and
    ``2-456`` pass unchanged); a ``{name}`` placeholder stays as it is, so the sandbox builds
    its route templates from the same methods."""
    text = str(value)
    return text if _PLACEHOLDER.match(text) else quote(text, safe="")


def is_numbered_path(path: str) -> bool:
    """A path of the numbered family (``/crm/v3/…``, ``/crm/v4/…``,
    ``/crm-object-schemas/v3/…``), which HubSpot stops supporting in 2027."""
    return bool(_NUMBERED_PATH.match(path))


_NUMBERED_PATH = re.compile(r"^/(crm/v\d+/|crm-object-schemas/v\d+/)")


@dataclass(frozen=True)
class HubSpotPaths:
    """The paths of one HubSpot API version (``version``: a date version or ``"v3"``)."""

    version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        if self.version != NUMBERED and not is_date_version(self.version):
            raise ValueError(
                f"{self.version!r} is not a HubSpot API version: use a date version such as "
                f"{DEFAULT_API_VERSION} or {NUMBERED!r}."
            )

    @property
    def dated(self) -> bool:
        return self.version != NUMBERED

    # -- schemas (custom object definitions) ------------------------------------------

    def schemas(self) -> str:
        """``GET`` (list) / ``POST`` (create) custom object schemas."""
        return f"/crm-object-schemas/{self.version}/schemas"

    def schema(self, object_type: str) -> str:
        return f"{self.schemas()}/{_seg(object_type)}"

    def schema_associations(self, object_type: str) -> str:
        """``POST``: a custom object's association definition (``AssociationDefinitionEgg``)."""
        return f"{self.schema(object_type)}/associations"

    # -- properties --------------------------------------------------------------------

    def properties(self, object_type: str) -> str:
        """``GET`` (list) / ``POST`` (create) an object type's properties."""
        if self.dated:
            return f"/crm/properties/{self.version}/{_seg(object_type)}"
        return f"/crm/v3/properties/{_seg(object_type)}"

    def property_groups(self, object_type: str) -> str:
        """``GET`` / ``POST`` an object type's property groups."""
        return f"{self.properties(object_type)}/groups"

    def property(self, object_type: str, name: str) -> str:
        """``GET`` / ``PATCH`` / ``DELETE`` one property."""
        return f"{self.properties(object_type)}/{_seg(name)}"

    # -- objects -----------------------------------------------------------------------

    def objects(self, object_type: str) -> str:
        """``GET`` (list, cursor paging) / ``POST`` (create one) records of an object type."""
        if self.dated:
            return f"/crm/objects/{self.version}/{_seg(object_type)}"
        return f"/crm/v3/objects/{_seg(object_type)}"

    def object(self, object_type: str, object_id: str) -> str:
        """``GET`` / ``PATCH`` / ``DELETE`` one record (``?idProperty=`` to key by a unique
        property)."""
        return f"{self.objects(object_type)}/{_seg(object_id)}"

    def batch(self, object_type: str, operation: str) -> str:
        """``POST …/batch/{operation}``: create, read, update, upsert or archive (≤ 100)."""
        return f"{self.objects(object_type)}/batch/{operation}"

    def search(self, object_type: str) -> str:
        return f"{self.objects(object_type)}/search"

    # -- associations (v4 in the numbered family) ----------------------------------------

    def _associations_root(self) -> str:
        return f"/crm/associations/{self.version}" if self.dated else "/crm/v4/associations"

    def associations_batch(self, from_type: str, to_type: str, operation: str) -> str:
        """``POST …/batch/{operation}``: ``create``, ``read``, ``archive``,
        ``associate/default`` or ``labels/archive``."""
        return f"{self._associations_root()}/{_seg(from_type)}/{_seg(to_type)}/batch/{operation}"

    def association_labels(self, from_type: str, to_type: str) -> str:
        """``GET`` / ``POST`` / ``PUT`` the association labels (types) between two objects."""
        return f"{self._associations_root()}/{_seg(from_type)}/{_seg(to_type)}/labels"

    def _record_root(self, object_type: str, object_id: str) -> str:
        if self.dated:
            return f"/crm/objects/{self.version}/{_seg(object_type)}/{_seg(object_id)}"
        return f"/crm/v4/objects/{_seg(object_type)}/{_seg(object_id)}"

    def record_association(self, object_type: str, object_id: str, to_type: str, to_id: str) -> str:
        """``PUT`` (with labels in the body) / ``DELETE`` one record's association."""
        root = self._record_root(object_type, object_id)
        return f"{root}/associations/{_seg(to_type)}/{_seg(to_id)}"

    def record_default_association(
        self, object_type: str, object_id: str, to_type: str, to_id: str
    ) -> str:
        """``PUT``: associate two records with the default (unlabelled) type."""
        root = self._record_root(object_type, object_id)
        return f"{root}/associations/default/{_seg(to_type)}/{_seg(to_id)}"
