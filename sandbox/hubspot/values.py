"""Property definitions and value validation, as HubSpot's CRM v3 applies them.

What HubSpot documents (developers.hubspot.com "CRM properties" guide and the FAQ "How should
timestamps be formatted for HubSpot's APIs?"):

- property ``type`` and the ``fieldType`` values allowed with it (table in the guide):
  bool: booleancheckbox, calculation_equation; enumeration: booleancheckbox, checkbox, radio,
  select, calculation_equation; date: date; datetime: date; string: file, text, textarea,
  calculation_equation, html, phonenumber; number: number, calculation_equation.
- ``date`` values must be midnight UTC, as epoch milliseconds or ISO 8601 (``YYYY-MM-DD``);
  anything else is an error. ``datetime`` takes epoch milliseconds or ISO 8601.
- non-string values may not carry leading/trailing whitespace (``LEADING_TRAILING_WHITESPACE``,
  changelog "Enhanced validations for non-string properties", January 2025).
- enumeration values must be one of the options' internal values, case-sensitively.

How values are echoed back (the emulator's documented choice; see the README of the sandbox):

- ``date``: ``YYYY-MM-DD``; ``datetime``: ISO 8601 UTC with milliseconds and ``Z``
  (``2024-05-01T13:45:00.000Z``, the form HubSpot uses for ``hs_lastmodifieddate``);
- ``number``: canonical decimal — trailing fractional zeros dropped (``"100.50"`` → ``"100.5"``,
  ``"7.00"`` → ``"7"``). Compare numbers numerically, never as strings;
- ``bool``: ``true``/``false``; strings and enumerations exactly as sent;
- an empty string (or ``null``) clears the value: it is then returned as ``null``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.hubspot.errors import PropertyProblem

FIELD_TYPES: dict[str, frozenset[str]] = {
    "bool": frozenset({"booleancheckbox", "calculation_equation"}),
    "enumeration": frozenset(
        {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"}
    ),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "string": frozenset(
        {"file", "text", "textarea", "calculation_equation", "html", "phonenumber"}
    ),
    "number": frozenset({"number", "calculation_equation"}),
}
READ_ONLY = frozenset(
    {"hs_object_id", "hs_createdate", "hs_lastmodifieddate", "hs_merged_object_ids"}
)
MAX_STRING = 65_536
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_EPOCH = re.compile(r"^-?\d{1,15}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class PropertyDef:
    """A property of an object type (the body of ``GET …/properties/{type}/{name}``)."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    has_unique_value: bool = False
    hubspot_defined: bool = False
    display_order: int = -1
    form_field: bool = False
    hidden: bool = False
    created_at: str = ""
    updated_at: str = ""

    def __post_init__(self) -> None:
        self.option_values: frozenset[str] = frozenset(str(o.get("value")) for o in self.options)

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "updatedAt": self.updated_at,
            "createdAt": self.created_at,
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": self.options,
            "displayOrder": self.display_order,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "formField": self.form_field,
            "dataSensitivity": "non_sensitive",
            "archived": False,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.name in READ_ONLY,
            },
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        return body

    def to_state(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "option_values"}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PropertyDef:
        return cls(**state)


def builtin_properties(object_name: str, now_iso: str) -> list[PropertyDef]:
    """The properties HubSpot creates on every custom object."""
    group = f"{object_name}_information"
    return [
        PropertyDef("hs_object_id", "Record ID", "number", "number", group,
                    "The unique ID for this record. This value is set automatically by HubSpot.",
                    hubspot_defined=True, created_at=now_iso, updated_at=now_iso),
        PropertyDef("hs_createdate", "Object create date/time", "datetime", "date", group,
                    "The date and time at which this object was created.",
                    hubspot_defined=True, created_at=now_iso, updated_at=now_iso),
        PropertyDef("hs_lastmodifieddate", "Object last modified date/time", "datetime", "date",
                    group, "Most recent timestamp of any property update for this object.",
                    hubspot_defined=True, created_at=now_iso, updated_at=now_iso),
    ]  # fmt: skip


_SECONDS: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """Epoch milliseconds → ``2024-05-01T13:45:00.000Z`` (memoised per second: hot path)."""
    seconds, millis = divmod(ms, 1000)
    prefix = _SECONDS.get(seconds)
    if prefix is None:
        if len(_SECONDS) > 200_000:
            _SECONDS.clear()
        t = time.gmtime(seconds)
        prefix = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.".format(*t[:6])
        _SECONDS[seconds] = prefix
    return f"{prefix}{millis:03d}Z"


def to_epoch_ms(raw: str) -> int | None:
    """Epoch ms, ``YYYY-MM-DD`` or ISO 8601 (``Z`` or offset; naive = UTC) → epoch ms."""
    if _EPOCH.match(raw):
        return int(raw)
    if _DATE.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return None
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def canonical_number(raw: str) -> str | None:
    if not _NUMBER.match(raw):
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def as_text(value: Any) -> str | None:
    """JSON value → the string HubSpot stores (``None`` for null)."""
    if type(value) is str:
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    return str(value)


def normalise(prop: PropertyDef, value: Any) -> tuple[str | None, PropertyProblem | None]:
    """Validate one input value: (stored value or ``None`` to clear, problem or ``None``)."""
    raw = as_text(value)
    if raw is None or raw == "":
        return None, None
    name = prop.name
    if prop.type == "string":
        if len(raw) > MAX_STRING:
            return None, PropertyProblem(
                name, "INVALID_STRING_LENGTH",
                f"{name} is {len(raw)} characters long; the maximum is {MAX_STRING}.",
            )  # fmt: skip
        return raw, None
    if raw != raw.strip():
        return None, PropertyProblem(
            name, "LEADING_TRAILING_WHITESPACE", f'"{raw}" includes leading or trailing whitespace.'
        )
    if prop.type == "number":
        number = canonical_number(raw)
        if number is None:
            return None, PropertyProblem(name, "INVALID_NUMBER", f"{raw} is not a valid number.")
        return number, None
    if prop.type == "bool":
        if raw not in ("true", "false"):
            return None, PropertyProblem(
                name, "INVALID_BOOLEAN", f"{raw} is not a valid boolean value (true or false)."
            )
        return raw, None
    if prop.type == "enumeration":
        parts = raw.split(";") if prop.field_type == "checkbox" else [raw]
        allowed = prop.option_values
        bad = [part for part in parts if part not in allowed]
        if bad:
            listed = ", ".join(sorted(allowed))
            return None, PropertyProblem(
                name, "INVALID_OPTION",
                f"{bad[0]} was not one of the allowed options: [{listed}]",
            )  # fmt: skip
        return raw, None
    if prop.type == "date":
        ms = to_epoch_ms(raw)
        if ms is None:
            return None, PropertyProblem(name, "INVALID_DATE", f"{raw} is not a valid date.")
        if ms % 86_400_000:
            clock = iso_ms(ms)[11:23]
            return None, PropertyProblem(
                name, "INVALID_DATE", f"{raw} is at {clock} UTC, not midnight!"
            )
        return iso_ms(ms)[:10], None
    if prop.type == "datetime":
        ms = to_epoch_ms(raw)
        if ms is None:
            return None, PropertyProblem(
                name, "INVALID_DATETIME", f"{raw} is not a valid datetime."
            )
        return iso_ms(ms), None
    return raw, None
