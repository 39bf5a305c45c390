"""Required-property rules, enforced on API writes from version 2026-09 as HubSpot does.

HubSpot developer changelog "Breaking Change: CRM API Write Validation Enforcement Starting with
the 2026-09 API Version" (11 Aug 2026): from ``/2026-09/`` on, admin-configured rules — required
fields on the Create Record form, conditional required properties — apply to API writes, and a
write missing such a property gets a ``400`` ``VALIDATION_ERROR``. Older versions (2026-03, v3)
keep ignoring the portal's rules (only a schema's ``requiredProperties`` on create, as before).

What the emulator models:

- the rules: the schema's ``requiredProperties`` plus portal-level required properties a test
  sets per object (:meth:`RequiredRules.require`, control route ``/_sandbox/required``);
- a create must carry a value for each; an update must leave each with a value (the stored
  value counts; sending ``""`` clears it and is refused);
- a batch with one offending input is refused whole (``400``: the changelog names a 400, not a
  207 entry), so a client must isolate the record itself. The body is HubSpot's validation
  shape (``category``, ``message``, ``errors[]``); each ``errors[]`` entry has
  ``code: "REQUIRED_PROPERTY"`` and ``context.propertyName`` — the changelog's example is cut
  short after ``category`` and ``message``, so those detail fields are modelled, not quoted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.hubspot.errors import HubSpotError, PropertyProblem, property_problems_message
from sandbox.hubspot.store import ObjectType, Record


@dataclass
class RequiredRules:
    """Portal-level required properties, per object (its name, objectTypeId or full name)."""

    by_object: dict[str, list[str]] = field(default_factory=dict)

    def require(self, object_key: str, properties: Iterable[str]) -> None:
        self.by_object[object_key] = list(dict.fromkeys(str(p) for p in properties))

    def clear(self) -> None:
        self.by_object.clear()

    def for_object(self, object_type: ObjectType) -> list[str]:
        names = list(object_type.required_properties)
        for key in (object_type.name, object_type.object_type_id, object_type.fully_qualified_name):
            names.extend(self.by_object.get(key, []))
        return list(dict.fromkeys(names))


def missing_required(
    required: list[str], record: Record | None, properties: Mapping[str, Any] | None
) -> list[str]:
    """The required properties this write would leave without a value."""
    sent = dict(properties or {})
    stored = record.props if record is not None else {}
    missing = []
    for name in required:
        value = sent[name] if name in sent else stored.get(name)
        if value is None or str(value) == "":
            missing.append(name)
    return missing


def refuse(object_type: ObjectType, missing: list[str], input_id: str | None) -> HubSpotError:
    """The whole-request ``400`` for a write missing required properties."""
    problems = [
        PropertyProblem(
            name,
            "REQUIRED_PROPERTY",
            f"{name} is required on {object_type.name} by this portal's rules.",
        )
        for name in missing
    ]
    return HubSpotError(
        400,
        "VALIDATION_ERROR",
        property_problems_message(problems),
        context={"id": [input_id]} if input_id is not None else None,
        errors=[
            {
                "message": problem.message,
                "code": "REQUIRED_PROPERTY",
                "context": {"propertyName": [problem.name]},
            }
            for problem in problems
        ],
    )


def check_writes(
    required: list[str],
    object_type: ObjectType,
    writes: list[tuple[str | None, Record | None, Any]],
) -> None:
    """Refuse the request at the first write (``(input id, existing record or None,
    properties)``) that leaves a required property empty."""
    if not required:
        return
    for input_id, record, properties in writes:
        props = properties if isinstance(properties, Mapping) else {}
        missing = missing_required(required, record, props)
        if missing:
            raise refuse(object_type, missing, input_id)
