"""HubSpot's error bodies, built in one place so every route answers in the same shape.

Shapes relied on (HubSpot CRM v3; the ``hubspot-api-client`` 12 models ``Error`` and
``StandardError`` are generated from the same OpenAPI spec):

- request-level error: ``{"status": "error", "message", "correlationId", "category"}`` plus
  optional ``subCategory``, ``context`` and ``errors`` (list of ``{"message", "code",
  "context"}``), e.g. ``category: "VALIDATION_ERROR"`` for a bad value, ``"OBJECT_NOT_FOUND"``,
  ``"OBJECT_ALREADY_EXISTS"`` (409), ``"INVALID_AUTHENTICATION"`` (401), ``"MISSING_SCOPES"``
  (403).
- property validation: ``message`` is ``"Property values were not valid: [...]"`` where the
  list is JSON of ``{"isValid": false, "message", "error", "name"}`` (HubSpot developer
  changelog "Enhanced validations for non-string properties", 2025, shows this exact form).
- per-input error inside a 207 batch answer (``StandardError``): ``status``, ``category``,
  ``message``, ``context`` (e.g. ``{"id": ["..."]}``), ``errors`` and ``links`` — the SDK's model
  rejects ``null`` for any of these, so all are always present.
- rate limit 429: ``{"status": "error", "message": "You have reached your ten_secondly_rolling
  limit.", "errorType": "RATE_LIMIT", "correlationId", "policyName": "TEN_SECONDLY_ROLLING"}``
  (``"DAILY"`` for the daily cap; the 2018–2021 forum posts quoted in HubSpot's community show
  ``"SECONDLY"`` for the per-second policy, which is what the search limit answers with).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
SCOPES_MESSAGE = (
    "This app hasn't been granted all required scopes to make this call. Read more about "
    "required scopes here: https://developers.hubspot.com/scopes."
)


def correlation_id() -> str:
    return str(uuid.uuid4())


@dataclass
class PropertyProblem:
    """One invalid property value, as HubSpot lists it inside ``Property values were not valid``."""

    name: str
    error: str  # INVALID_DATE, INVALID_OPTION, PROPERTY_DOESNT_EXIST, ...
    message: str

    def as_hubspot(self) -> dict[str, Any]:
        return {"isValid": False, "message": self.message, "error": self.error, "name": self.name}

    def as_detail(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "code": self.error,
            "context": {"propertyName": [self.name]},
        }


def property_problems_message(problems: list[PropertyProblem]) -> str:
    listed = json.dumps([p.as_hubspot() for p in problems], separators=(",", ":"))
    return f"Property values were not valid: {listed}"


@dataclass
class HubSpotError(Exception):
    """An error answer; raised anywhere in a handler, rendered by the emulator's middleware."""

    status: int
    category: str
    message: str
    sub_category: str | None = None
    context: dict[str, list[str]] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.category}: {self.message}"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id(),
            "category": self.category,
        }
        if self.sub_category:
            body["subCategory"] = self.sub_category
        if self.context:
            body["context"] = self.context
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.status)

    def batch_error(self, context: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """This error as one entry of a 207 answer's ``errors[]``."""
        return {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": context if context is not None else (self.context or {}),
            "errors": self.errors,
            "links": {},
            **({"subCategory": self.sub_category} if self.sub_category else {}),
        }


def validation_error(message: str, **kwargs: Any) -> HubSpotError:
    return HubSpotError(400, "VALIDATION_ERROR", message, **kwargs)


def invalid_properties(problems: list[PropertyProblem]) -> HubSpotError:
    return HubSpotError(
        400,
        "VALIDATION_ERROR",
        property_problems_message(problems),
        errors=[p.as_detail() for p in problems],
    )


def not_found(message: str = "resource not found") -> HubSpotError:
    return HubSpotError(404, "OBJECT_NOT_FOUND", message)


def unauthenticated() -> HubSpotError:
    return HubSpotError(401, "INVALID_AUTHENTICATION", AUTH_MESSAGE)


def missing_scopes(required: list[str]) -> HubSpotError:
    return HubSpotError(
        403,
        "MISSING_SCOPES",
        SCOPES_MESSAGE,
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": required},
            }
        ],
        extra={"links": {"scopes": "https://developers.hubspot.com/scopes"}},
    )


def rate_limit_body(policy: str) -> dict[str, Any]:
    """The body of HubSpot's 429; ``policy`` is TEN_SECONDLY_ROLLING, SECONDLY or DAILY."""
    return {
        "status": "error",
        "message": f"You have reached your {policy.lower()} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
        "requestId": uuid.uuid4().hex,
    }


SERVER_ERROR_MESSAGES = {
    404: ("OBJECT_NOT_FOUND", "Not Found"),
    500: ("INTERNAL_ERROR", "internal error"),
    502: ("BAD_GATEWAY", "Bad Gateway"),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable"),
    504: ("GATEWAY_TIMEOUT", "Gateway Timeout"),
}


def fault_response(status: int, _request: web.Request) -> web.Response:
    """Body for a fault injected by ``sandbox.faults``: the real error shape for that status."""
    if status == 429:
        return web.json_response(rate_limit_body("TEN_SECONDLY_ROLLING"), status=429)
    category, message = SERVER_ERROR_MESSAGES.get(status, ("INTERNAL_ERROR", "internal error"))
    return HubSpotError(status, category, message).response()
