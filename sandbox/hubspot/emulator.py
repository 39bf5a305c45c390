"""The HubSpot CRM emulator: state, auth, rate limits and faults behind one aiohttp app.

Served API versions: every version of :data:`sandbox.hubspot.routes.SERVED_VERSIONS` (the date
versions and the numbered family, ``/crm/v3/…``, ``/crm-object-schemas/v3/…``), on the
emulator's own route templates (:class:`sandbox.hubspot.routes.HubSpotRoutes`, from HubSpot's
spec collection; a test checks the client's paths against them). ``numbered_paths=False``
(constructor, ``POST /_sandbox/numbered_paths``, ``invoice-sync sandbox up
--no-hubspot-numbered-paths``) answers 404 on every numbered path — proof that nothing still
calls the family HubSpot retires in 2027.

Request pipeline (outermost first): ``sandbox.faults.middleware`` (latency, injected faults,
counters) → authentication and scopes → rate limits → error rendering → route handler.
Authentication answers like HubSpot for a private-app token (``Authorization: Bearer …``):
401 ``INVALID_AUTHENTICATION`` without or with an unknown token, 403 ``MISSING_SCOPES`` naming the
scope when the token lacks it (scopes per HubSpot's custom-objects guide:
``crm.schemas.custom.read|write`` for schemas and properties, ``crm.objects.custom.read|write``
for records; search and batch/read are reads).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox import faults as faults_module
from sandbox.clock import utc_now
from sandbox.credentials import SANDBOX_HUBSPOT_TOKEN
from sandbox.hubspot import (
    api_objects,
    api_properties,
    api_schemas,
    associations,
    control,
    merges,
)
from sandbox.hubspot.errors import (
    HubSpotError,
    fault_response,
    missing_scopes,
    rate_limit_body,
    unauthenticated,
    validation_error,
)
from sandbox.hubspot.limits import HubSpotLimits, RateLimiter
from sandbox.hubspot.persistence import load_store, save_store
from sandbox.hubspot.required import RequiredRules
from sandbox.hubspot.routes import SERVED_VERSIONS, HubSpotRoutes, is_numbered_path
from sandbox.hubspot.store import Store
from sandbox.hubspot.values import iso_ms

log = logging.getLogger(__name__)
ALL_SCOPES = (
    "crm.schemas.custom.read",
    "crm.schemas.custom.write",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
)
_STANDARD_SCOPE = {"companies": "companies", "0-2": "companies", "company": "companies",
                   "contacts": "contacts", "0-1": "contacts", "contact": "contacts"}  # fmt: skip
Handler = Callable[[web.Request], Any]


def required_scope(method: str, path: str) -> str | None:
    """The scope a request needs, by route (``None`` for paths outside the CRM API)."""
    read = method in ("GET", "HEAD") or path.endswith(("/search", "/batch/read"))
    suffix = "read" if read else "write"
    if path.startswith(
        ("/crm/v3/schemas", "/crm-object-schemas/", "/crm/v3/properties", "/crm/properties/")
    ):
        kind = "custom"
        for part in path.split("/")[3:5]:
            kind = _STANDARD_SCOPE.get(part.lower(), kind)
        return f"crm.schemas.{kind}.{suffix}"
    if path.startswith(("/crm/v3/objects", "/crm/objects/", "/crm/v4/objects")):
        kind = "custom"
        for part in path.split("/")[3:5]:
            kind = _STANDARD_SCOPE.get(part.lower(), kind)
        return f"crm.objects.{kind}.{suffix}"
    if path.startswith(("/crm/associations/", "/crm/v4/associations/")):
        return f"crm.objects.custom.{suffix}"
    return None


class HubSpotEmulator:
    """A stateful HubSpot portal. Python methods are safe to call while the server runs."""

    def __init__(
        self,
        limits: HubSpotLimits | None = None,
        clock: Callable[[], datetime] | None = None,
        portal_id: int = 12345678,
        *,
        numbered_paths: bool = True,
        shuffle_results: bool = True,
        seed: int | None = None,
    ) -> None:
        self._default_clock: Callable[[], datetime] = clock or utc_now
        self.clock: Callable[[], datetime] = self._default_clock
        self.portal_id = portal_id
        self.lock = threading.RLock()
        self.store = Store(portal_id, self.now)
        self._default_limits = limits or HubSpotLimits()
        self.limiter = RateLimiter(replace(self._default_limits), self.now)
        self.faults = faults_module.Faults()
        self.counters = faults_module.Counters()
        self.tokens: dict[str, frozenset[str]] = {}
        self.add_token(SANDBOX_HUBSPOT_TOKEN)
        self._defaults = (numbered_paths, shuffle_results)
        self.numbered_paths = numbered_paths
        self.shuffle_results = shuffle_results
        self.echo_id_property = True
        self.rng = random.Random(seed)
        self.required = RequiredRules()
        self.association_writes = 0  # associations created or removed through the API

    # -- Python interface -------------------------------------------------------------------

    def now(self) -> datetime:
        """The emulator's current time (the injected clock, UTC)."""
        return self.clock()

    def set_clock(self, clock: Callable[[], datetime] | None) -> None:
        """Swap the clock (``None``: back to the one given at construction); windows restart."""
        self.clock = clock or self._default_clock
        self.limiter.reset()

    @property
    def search_lag_seconds(self) -> float:
        """How long a write stays invisible to search (HubSpot: "a few seconds"); default 0."""
        return self.store.search_lag_ms / 1000

    @search_lag_seconds.setter
    def search_lag_seconds(self, seconds: float) -> None:
        with self.lock:
            self.store.search_lag_ms = int(seconds * 1000)

    @property
    def limits(self) -> HubSpotLimits:
        return self.limiter.limits

    @limits.setter
    def limits(self, limits: HubSpotLimits) -> None:
        self.limiter.reset(limits)

    def reset(self) -> None:
        """Clear schemas, records, rejections, faults, counters, extra tokens, search lag and
        required-property rules; back to the limits, clock and path / answer-order switches
        given at construction (HubSpot's defaults if none)."""
        with self.lock:
            self.clock = self._default_clock
            self.store.clear()
            self.tokens = {}
            self.add_token(SANDBOX_HUBSPOT_TOKEN)
            self.numbered_paths, self.shuffle_results = self._defaults
            self.echo_id_property = True
            self.required.clear()
            self.association_writes = 0
            self.store.associations.max_per_record = 10_000
        self.limiter.reset(replace(self._default_limits))
        self.faults.clear()
        self.counters.reset()

    def add_token(self, token: str, scopes: list[str] | tuple[str, ...] = ALL_SCOPES) -> None:
        """Accept ``token`` (a Service Key or private-app token) with only ``scopes``: a call
        needing another answers 403 ``MISSING_SCOPES`` naming it."""
        with self.lock:
            self.tokens[token] = frozenset(scopes)

    def require_properties(self, object_type: str, properties: list[str]) -> None:
        """A portal rule (API 2026-09 on): every create and update of ``object_type`` (name,
        objectTypeId or fully qualified name) must leave these properties with a value."""
        with self.lock:
            self.required.require(object_type, properties)

    def records(self, object_type: str) -> list[dict[str, Any]]:
        """Every record stored for the object (archived too), with all its set properties."""
        with self.lock:
            resolved = self.store.resolve(object_type)
            known = resolved.properties
            out = []
            for record in resolved.records.values():
                created, updated = iso_ms(record.created), iso_ms(record.updated)
                properties = {k: v for k, v in record.props.items() if k in known}
                properties.update(
                    hs_object_id=record.id, hs_createdate=created, hs_lastmodifieddate=updated
                )
                body: dict[str, Any] = {
                    "id": record.id,
                    "properties": properties,
                    "createdAt": created,
                    "updatedAt": updated,
                    "archived": record.archived,
                }
                if record.archived and record.archived_at is not None:
                    body["archivedAt"] = iso_ms(record.archived_at)
                out.append(body)
            return out

    def associated(self, from_type: str, record_id: str, to_type: str) -> set[str]:
        """Ids of the ``to_type`` records associated with one record (either side's name)."""
        with self.lock:
            a, b = self.store.resolve(from_type), self.store.resolve(to_type)
            return set(
                self.store.associations.read(a.object_type_id, str(record_id), b.object_type_id)
            )

    def associate_by_hand(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """A person associating two records in HubSpot's UI (the first type defined between
        them; no timestamps move)."""
        with self.lock:
            a, b = self.store.resolve(from_type), self.store.resolve(to_type)
            spec = self.store.associations.types[(a.object_type_id, b.object_type_id)][0]
            self.store.associations.add(
                a.object_type_id, str(from_id), b.object_type_id, str(to_id), spec
            )

    def create_schema(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a custom object as ``POST …/schemas`` would (same validation)."""
        with self.lock:
            object_type = api_schemas.new_schema(self, body)
            self.store.register(object_type)
            return object_type.schema_api()

    def seed(self, object_type: str, rows: list[dict[str, Any]]) -> list[str]:
        """Create records directly (validated like the API, no HTTP, no limits): demo data and
        large test sets. Returns the new record ids."""
        with self.lock:
            resolved = self.store.resolve(object_type)
            return [self.store.create(resolved, self.store.clean(resolved, row)).id for row in rows]

    def edit_by_hand(
        self, object_type: str, record_id: str, properties: dict[str, Any]
    ) -> dict[str, Any]:
        """A person editing the record in HubSpot's UI: validated like the API, bumps updatedAt."""
        with self.lock:
            resolved = self.store.resolve(object_type)
            record = resolved.records.get(str(record_id))
            if record is None or record.archived:
                raise KeyError(f"no {resolved.name} record {record_id}")
            clean = self.store.clean(resolved, properties)
            if self.store.search_lag_ms:
                self.store.before_write(record)
            self.store.update(resolved, record, clean)
            record.updated = max(record.updated + 1, self.store.now_ms())  # always a bump
            resolved.version += 1
            return record.to_api(list(properties), resolved.defaults)

    def delete_by_hand(self, object_type: str, record_id: str) -> None:
        """A person deleting a record (or merging it away) in HubSpot's UI: it is archived, and
        search, batch writes and associations no longer find it."""
        with self.lock:
            resolved = self.store.resolve(object_type)
            record = resolved.records.get(str(record_id))
            if record is None:
                raise KeyError(f"no {resolved.name} record {record_id}")
            self.store.archive(resolved, record)

    def merge_by_hand(self, object_type: str, primary_id: str, merged_id: str) -> str:
        """A person merging two records in HubSpot's UI (:mod:`sandbox.hubspot.merges`): both
        are archived, a new record (returned id) holds the result and their associations, and
        reads of either old id return it."""
        with self.lock:
            resolved = self.store.resolve(object_type)
            return merges.merge(self.store, resolved, str(primary_id), str(merged_id)).id

    def reject_value(self, property_name: str, value: str, message: str | None = None) -> None:
        """Any input setting ``property_name`` to ``value`` fails (a per-input error in a 207)."""
        with self.lock:
            self.store.rejections[(property_name, str(value))] = message or (
                f"{value} was rejected for {property_name} by the sandbox."
            )

    def clear_rejections(self) -> None:
        with self.lock:
            self.store.rejections.clear()

    def save(self, path: str | Path) -> None:
        with self.lock:
            save_store(self.store, Path(path))

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> HubSpotEmulator:
        emulator = cls(**kwargs)
        emulator.load_state(path)
        return emulator

    def load_state(self, path: str | Path) -> None:
        with self.lock:
            load_store(self.store, Path(path))
            self.portal_id = self.store.portal_id

    # -- HTTP ------------------------------------------------------------------------------

    async def read_json(self, request: web.Request) -> Any:
        """The JSON body; HubSpot's wording for a malformed one ("Invalid input JSON on line 1,
        column 86: ...", quoted in HubSpot/hubspot-api-ruby#179)."""
        raw = await request.read()
        try:
            return json.loads(raw or b"{}")
        except json.JSONDecodeError as exc:
            raise validation_error(
                f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise validation_error(f"Invalid input JSON: {exc}") from None

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[
                faults_module.middleware(self.faults, self.counters, fault_response),
                self._date_middleware,
                self._auth_middleware,
                self._limit_middleware,
                self._error_middleware,
            ],
            client_max_size=32 * 1024 * 1024,
        )
        for version in SERVED_VERSIONS:
            paths = HubSpotRoutes(version)
            app.add_routes(api_schemas.routes(self, paths))
            app.add_routes(api_properties.routes(self, paths))
            app.add_routes(api_objects.routes(self, paths))
            app.add_routes(associations.routes(self, paths))
        app.add_routes(faults_module.control_routes(self.faults, self.counters))
        app.add_routes(control.routes(self))
        return app

    @web.middleware
    async def _date_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """``Date`` from the emulator's clock, as HubSpot's servers send their own time (RFC 9110
        §6.6.1: an origin server with a clock MUST send ``Date``); clients read HubSpot's "now"
        from it, so it must agree with the record timestamps the same clock writes."""
        response = await handler(request)
        response.headers["Date"] = format_datetime(self.clock().astimezone(UTC), usegmt=True)
        return response

    @web.middleware
    async def _auth_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        if not self.numbered_paths and is_numbered_path(request.path):
            return HubSpotError(
                404,
                "OBJECT_NOT_FOUND",
                f"{request.path} is a numbered (v1–v4) API path, switched off in this sandbox: "
                "call the date-versioned path (e.g. /crm/objects/2026-09/…).",
            ).response()
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        scopes = self.tokens.get(token)
        if scopes is None:
            return unauthenticated().response()
        needed = required_scope(request.method, request.path)
        if needed is not None and needed not in scopes:
            return missing_scopes([needed]).response()
        return await handler(request)

    @web.middleware
    async def _limit_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        verdict = self.limiter.admit(search=request.path.endswith("/search"))
        if verdict.policy is not None:
            return web.json_response(
                rate_limit_body(verdict.policy), status=429, headers=verdict.headers
            )
        response = await handler(request)
        response.headers.update(verdict.headers)
        return response

    @web.middleware
    async def _error_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except HubSpotError as error:
            return error.response()
        except web.HTTPException as exc:
            if request.path.startswith("/_sandbox/") or exc.status < 400:
                raise
            category = "OBJECT_NOT_FOUND" if exc.status == 404 else "VALIDATION_ERROR"
            return HubSpotError(exc.status, category, exc.reason or "error").response()
        except Exception as exc:  # an emulator bug: answer like HubSpot's 500, say what broke
            log.exception("HubSpot emulator failed on %s %s", request.method, request.path)
            return HubSpotError(500, "INTERNAL_ERROR", f"internal error: {exc!r}").response()
