"""The tool's one HubSpot client: the transport, with the typed calls composed over it.

:class:`~reverse_etl.hubspot.transport.HubSpotTransport` owns every request — the SDK, the
shared rate limiters, retries, waits and errors, in one place. The typed calls are call groups
handed that transport (no mixins, no copied ``request`` stubs):
:class:`~reverse_etl.hubspot.calls.CrmCalls` (the custom object's schema and properties, lists,
searches and upserts of any object type) and
:class:`~reverse_etl.hubspot.customer_calls.CustomerCalls` (companies, contacts, associations).
:class:`HubSpot` binds their methods under the names the push, the setup and the snapshot call
(``hub.batch_upsert(...)``, ``hub.associations_read(...)``), so callers hold one object.
"""

from __future__ import annotations

from typing import Any

from reverse_etl.core.settings import HubSpotSettings
from reverse_etl.hubspot.answers import BatchError, UpsertAnswer, UpsertResult
from reverse_etl.hubspot.calls import CrmCalls
from reverse_etl.hubspot.customer_calls import CustomerCalls
from reverse_etl.hubspot.limiter import RateLimiter
from reverse_etl.hubspot.transport import (
    HubSpotRateLimitError,
    HubSpotRequestError,
    HubSpotTransport,
)
from reverse_etl.hubspot.wire import ApiResult

# the answer and error types are re-exported: callers import them with the client
__all__ = [
    "ApiResult",
    "BatchError",
    "HubSpot",
    "HubSpotRateLimitError",
    "HubSpotRequestError",
    "RateLimiter",
    "UpsertAnswer",
    "UpsertResult",
]


class HubSpot(HubSpotTransport):
    """The transport (``options``: :class:`HubSpotTransport`'s limiters, clock, sleep, retry
    budget and timeouts) and its call groups.

    Thread-safe: the push's workers share one instance (urllib3's pool is thread-safe and
    sized to ``max_in_flight``); the call groups hold no state of their own.
    """

    def __init__(self, settings: HubSpotSettings, **options: Any) -> None:
        super().__init__(settings, **options)
        crm = CrmCalls(self)
        customers = CustomerCalls(self, crm)
        self.crm = crm
        self.customers = customers
        self.list_schemas = crm.list_schemas
        self.list_page = crm.list_page
        self.search_page = crm.search_page
        self.create_schema = crm.create_schema
        self.list_properties = crm.list_properties
        self.create_property = crm.create_property
        self.update_property = crm.update_property
        self.batch_upsert = crm.batch_upsert
        self.association_labels = customers.association_labels
        self.create_schema_association = customers.create_schema_association
        self.associations_create = customers.associations_create
        self.associations_archive = customers.associations_archive
        self.associations_read = customers.associations_read
        self.objects_batch = customers.objects_batch
        self.create_companies = customers.create_companies
        self.list_property_groups = customers.list_property_groups
        self.create_property_group = customers.create_property_group
