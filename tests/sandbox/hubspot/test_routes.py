"""The sandbox's own HubSpot routes and constants agree with what the product sends.

The two sides are written separately (the sandbox imports nothing of the product, issue 21),
so this test, which sees both, is where a drift shows: one wrong path or credential on one side
fails here and in the sandbox-mode runs, instead of being accepted by both.
"""

from __future__ import annotations

import pytest

from reverse_etl.core import settings
from reverse_etl.hubspot.paths import SUPPORTED_VERSIONS, HubSpotPaths, enforces_required_properties
from reverse_etl.hubspot.paths import is_numbered_path as client_numbered
from sandbox import credentials
from sandbox.hubspot import routes
from sandbox.hubspot.routes import SERVED_VERSIONS, HubSpotRoutes

OBJECT, TO = "{objectType}", "{toObjectType}"


def test_every_version_the_client_speaks_is_served():
    assert set(SUPPORTED_VERSIONS) == set(SERVED_VERSIONS)


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_the_client_paths_are_the_emulator_routes(version):
    client, served = HubSpotPaths(version), HubSpotRoutes(version)
    assert client.dated == served.dated
    assert client.schemas() == served.schemas()
    assert client.schema_associations(OBJECT) == served.schema_associations(OBJECT)
    assert client.properties(OBJECT) == served.properties(OBJECT)
    assert client.objects(OBJECT) == served.objects(OBJECT)
    for operation in ("create", "read", "archive"):
        assert client.associations_batch(OBJECT, TO, operation) == served.associations_batch(
            OBJECT, TO, operation
        )
    assert client.association_labels(OBJECT, TO) == served.association_labels(OBJECT, TO)
    assert enforces_required_properties(version) == routes.enforces_required_properties(version)
    numbered = client.objects("p1_invoice")
    assert client_numbered(numbered) == routes.is_numbered_path(numbered) == (not client.dated)


def test_the_sandbox_mode_credentials_are_the_ones_the_emulators_accept():
    assert settings.SANDBOX_XERO_CLIENT_ID == credentials.SANDBOX_XERO_CLIENT_ID
    assert settings.SANDBOX_XERO_CLIENT_SECRET == credentials.SANDBOX_XERO_CLIENT_SECRET
    assert settings.SANDBOX_HUBSPOT_TOKEN == credentials.SANDBOX_HUBSPOT_TOKEN
    assert settings.SANDBOX_WEBHOOK_KEY == credentials.SANDBOX_WEBHOOK_KEY
