"""Bad values for every check of the gate, derived from its list (pipelines/xero/contract.py
CHECKS), never hand-listed: a check added there is corrupted by the tests that use this."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipelines.xero.contract import CHECKS, Check


@dataclass(frozen=True)
class Corruption:
    check: Check
    path: str  # dotted, as the Xero emulator's corrupt_invoice takes it ("LineItems.1.LineItemID")
    value: Any
    named: str  # the field the quarantine must name ("LineItems[1].LineItemID")

    @property
    def id(self) -> str:
        return f"{self.check.resource}-{self.check.field}-{self.check.rule}".replace(" ", "_")


def gate_checks(resource: str) -> list[Check]:
    """The checks the gate itself runs for ``resource`` (not those a merge key guarantees)."""
    return [c for c in CHECKS if c.resource == resource and not c.enforced_by]


def _number(value: Any) -> Decimal:
    return Decimal(str(value))


def bad_value(check: Check, record: dict[str, Any]) -> Any:
    """A value that breaks ``check`` on ``record`` (null, unknown, negative, inconsistent)."""
    current = get_path(record, check.path)
    if check.rule == "required":
        return None
    if check.rule == "one_of":
        return f"NOT_{current or 'SET'}"
    if check.rule == "currency":
        return "XXX"  # ISO 4217's "no currency": no invoice is raised in it
    if check.rule == "positive":
        return Decimal("-0.5")
    if check.rule == "timezone":
        return "MARSSTANDARDTIME"
    if check.rule == "reconciles":
        return _number(current or 0) + 7
    raise AssertionError(f"no corruption for rule {check.rule!r}: add one here")


def invoice_corruptions(invoice: dict[str, Any]) -> list[Corruption]:
    """One corruption per invoice and line-item check, for this invoice (which needs at least
    two line items, for the duplicate LineItemID)."""
    lines = invoice["LineItems"]
    assert len(lines) >= 2, "pick an invoice with two line items"
    out = [
        Corruption(c, ".".join(c.path), bad_value(c, invoice), c.field)
        for c in gate_checks("invoice")
    ]
    for c in gate_checks("line item"):
        if c.rule == "unique":
            first = get_path(lines[0], c.path)
            out.append(Corruption(c, f"LineItems.1.{c.field}", first, f"LineItems[1].{c.field}"))
        else:
            value = bad_value(c, lines[0])
            out.append(Corruption(c, f"LineItems.0.{c.field}", value, f"LineItems[0].{c.field}"))
    return out


def get_path(record: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        record = record.get(part) if isinstance(record, dict) else None
    return record


def corrupted(record: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of ``record`` with ``dotted`` set to ``value`` (list indexes as numbers)."""
    out = copy.deepcopy(record)
    *parents, last = dotted.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out
