"""The path builder: each HubSpot family's paths as HubSpot's spec collection lists them."""

from __future__ import annotations

import pytest

from reverse_etl.core.errors import ConfigError
from reverse_etl.core.settings import load_settings
from reverse_etl.hubspot.paths import (
    DEFAULT_API_VERSION,
    HubSpotPaths,
    enforces_required_properties,
)


@pytest.mark.parametrize("version", ["2026-03", "2026-09"])
def test_date_versioned_paths_follow_the_reference(version: str) -> None:
    p = HubSpotPaths(version)
    assert p.schemas() == f"/crm-object-schemas/{version}/schemas"
    assert p.properties("2-9") == f"/crm/properties/{version}/2-9"
    assert p.property("2-9", "status") == f"/crm/properties/{version}/2-9/status"
    assert p.objects("2-9") == f"/crm/objects/{version}/2-9"
    assert p.batch("2-9", "upsert") == f"/crm/objects/{version}/2-9/batch/upsert"
    assert p.search("2-9") == f"/crm/objects/{version}/2-9/search"
    assert (
        p.associations_batch("2-9", "companies", "create")
        == f"/crm/associations/{version}/2-9/companies/batch/create"
    )
    assert p.association_labels("2-9", "0-1") == f"/crm/associations/{version}/2-9/0-1/labels"
    assert (
        p.record_association("2-9", "11", "companies", "12")
        == f"/crm/objects/{version}/2-9/11/associations/companies/12"
    )
    assert (
        p.record_default_association("2-9", "11", "companies", "12")
        == f"/crm/objects/{version}/2-9/11/associations/default/companies/12"
    )


def test_numbered_family_uses_v3_and_v4_associations() -> None:
    p = HubSpotPaths("v3")
    assert p.schemas() == "/crm-object-schemas/v3/schemas"
    assert p.properties("2-9") == "/crm/v3/properties/2-9"
    assert p.batch("2-9", "read") == "/crm/v3/objects/2-9/batch/read"
    assert p.search("2-9") == "/crm/v3/objects/2-9/search"
    assert (
        p.associations_batch("2-9", "companies", "archive")
        == "/crm/v4/associations/2-9/companies/batch/archive"
    )
    assert (
        p.record_default_association("2-9", "1", "companies", "2")
        == "/crm/v4/objects/2-9/1/associations/default/companies/2"
    )


def test_unknown_version_is_refused() -> None:
    with pytest.raises(ValueError):
        HubSpotPaths("v4")
    with pytest.raises(ConfigError, match="HUBSPOT_API_VERSION"):
        load_settings({"HUBSPOT_API_VERSION": "2025-13"}, dotenv_path=None)


def test_setting_defaults_to_newest_tested_date_version() -> None:
    assert (
        load_settings({}, dotenv_path=None).hubspot.api_version == DEFAULT_API_VERSION == "2026-09"
    )
    assert (
        load_settings({"HUBSPOT_API_VERSION": "v3"}, dotenv_path=None).hubspot.api_version == "v3"
    )


def test_required_property_enforcement_starts_with_2026_09() -> None:
    assert enforces_required_properties("2026-09")
    assert not enforces_required_properties("2026-03")
    assert not enforces_required_properties("v3")
