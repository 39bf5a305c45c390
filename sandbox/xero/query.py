"""GET /Invoices query parameters: If-Modified-Since, IDs/Statuses/…, ``where``, ``order``.

``If-Modified-Since`` boundary (Xero documents only "records created or modified since this
timestamp"): the emulator returns invoices whose ``UpdatedDateUTC`` is **at or after the header
time truncated to whole seconds** (``UpdatedDateUTC >= floor(header)``). Xero's header format
has no milliseconds (xero-gateway issue #145: "the Xero API itself expects a specific date
format that doesn't allow milliseconds") while ``UpdatedDateUTC`` has them, so a client that
sends its last seen ``UpdatedDateUTC`` always gets that invoice (and any others from the same
second) again: clients must overlap and de-duplicate, and must never add a second to the mark.
Inclusive rather than strictly-after, so that a correct client never misses a change stamped
in the very millisecond of its mark (which a frozen test clock makes common).
Accepted header forms: ISO 8601 with or without fraction/offset (naive = UTC, as
``2024-01-01T10:00:00``) and RFC 1123 HTTP-dates; anything else is a 400.

``where`` supports comparisons (``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=``) on the fields in
:data:`FIELDS`, joined with ``&&``/``AND`` and ``||``/``OR`` (AND binds tighter); literals are
``"strings"``, numbers, ``true``/``false``, ``null`` (with ``==``/``!=``), ``guid("…")`` and
``DateTime(y, m, d[, h, m, s])``. Method calls (``Reference.StartsWith(…)``) are not supported.
Anything else is a 400 ``QueryParseException``, as Xero answers a filter it cannot parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from sandbox.xero.model import Invoice


class QueryError(ValueError):
    """A query Xero would answer with 400 (``QueryParseException``)."""


Getter = Callable[[Any, "list[tuple[str, str]]"], Any]


def _total(name: str) -> Getter:
    def get(inv: Invoice, _contacts: list[tuple[str, str]]) -> int:
        totals = inv.totals()
        return totals.amount_due if name == "amount_due" else getattr(totals, name)

    return get


# field name → (kind, getter); kinds decide how literals are read
FIELDS: dict[str, tuple[str, Getter]] = {
    "Type": ("str", lambda i, _c: i.type),
    "Status": ("str", lambda i, _c: i.status),
    "InvoiceNumber": ("str", lambda i, _c: i.number),
    "Reference": ("str", lambda i, _c: i.reference),
    "CurrencyCode": ("str", lambda i, _c: i.currency),
    "LineAmountTypes": ("str", lambda i, _c: i.line_amount_types),
    "InvoiceID": ("guid", lambda i, _c: i.invoice_id),
    "Contact.ContactID": ("guid", lambda i, c: c[i.contact][0]),
    "Contact.Name": ("str", lambda i, c: c[i.contact][1]),
    "Date": ("date", lambda i, _c: i.date),
    "DueDate": ("date", lambda i, _c: i.due_date),
    "FullyPaidOnDate": ("date", lambda i, _c: i.fully_paid_on),
    "UpdatedDateUTC": ("datetime", lambda i, _c: i.updated_ms),
    "SentToContact": ("bool", lambda i, _c: i.sent_to_contact),
    "HasAttachments": ("bool", lambda i, _c: i.has_attachments),
    "AmountDue": ("money", _total("amount_due")),
    "AmountPaid": ("money", _total("amount_paid")),
    "AmountCredited": ("money", _total("amount_credited")),
    "SubTotal": ("money", _total("sub_total")),
    "TotalTax": ("money", _total("total_tax")),
    "Total": ("money", _total("total")),
}

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<guid>guid\(\s*"(?P<guidval>[^"]*)"\s*\))
    | (?P<dt>DateTime\(\s*(?P<dtargs>[\d\s,]+)\))
    | (?P<op>==|!=|>=|<=|>|<|&&|\|\|)
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a is not None and a > b,
    ">=": lambda a, b: a is not None and a >= b,
    "<": lambda a, b: a is not None and a < b,
    "<=": lambda a, b: a is not None and a <= b,
}

Clause = tuple[Getter, Callable[[Any, Any], bool], Any]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError(
                f"Unexpected character in where clause at position {pos}: {text[pos:]!r}"
            )
        pos = match.end()
        kind = next(
            name
            for name in ("string", "guid", "dt", "op", "number", "word")
            if match.group(name) is not None
        )
        group = {"guid": "guidval", "dt": "dtargs"}.get(kind, kind)
        value = match.group(group)
        if kind == "word" and value.upper() in ("AND", "OR"):
            kind, value = "op", "&&" if value.upper() == "AND" else "||"
        out.append((kind, value))
    return out


def _literal(kind: str, field_kind: str, value: str, field: str) -> Any:
    try:
        if field_kind == "str" and kind == "string":
            return value[1:-1].replace('\\"', '"')
        if field_kind == "guid" and kind in ("guid", "string"):
            return (value if kind == "guid" else value[1:-1]).lower()
        if field_kind == "bool" and kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if field_kind == "money" and kind == "number":
            return int(Decimal(value) * 100)
        if field_kind in ("date", "datetime") and kind == "dt":
            parts = [int(p) for p in value.split(",") if p.strip()]
            moment = datetime(*parts, tzinfo=UTC)  # type: ignore[misc]
            if field_kind == "date":
                return moment.date().toordinal()
            return int(moment.timestamp() * 1000)
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise QueryError(f"Invalid literal {value!r} for {field}: {exc}") from None
    raise QueryError(f"Operator '==' incompatible with operand types for {field} and {value!r}")


Fields = dict[str, tuple[str, Getter]]


def parse_where(
    text: str, fields: Fields | None = None, kind: str = "Invoice"
) -> list[list[Clause]]:
    """``where`` as OR-groups of AND-ed clauses over ``fields`` (the invoices' by default; the
    other resources pass theirs, :mod:`finance_query`), named ``kind`` in errors."""
    fields = FIELDS if fields is None else fields
    insensitive = {name.lower(): name for name in fields}
    tokens = _tokens(text)
    groups: list[list[Clause]] = [[]]
    i = 0
    while i < len(tokens):
        if len(tokens) - i < 3:
            raise QueryError(f"Incomplete expression in where clause: {text!r}")
        (fk, fv), (ok, ov), (lk, lv) = tokens[i : i + 3]
        field = insensitive.get(fv.lower()) if fk == "word" else None
        if field is None:
            raise QueryError(f"No property or field '{fv}' exists in type '{kind}'")
        if ok != "op" or ov not in _OPS:
            raise QueryError(f"Expected a comparison operator after {field}, got {ov!r}")
        field_kind, getter = fields[field]
        if lk == "word" and lv.lower() == "null":
            if ov not in ("==", "!="):
                raise QueryError(f"Operator '{ov}' cannot compare {field} with null")
            groups[-1].append((getter, _OPS[ov], None))
        else:
            groups[-1].append((getter, _OPS[ov], _literal(lk, field_kind, lv, field)))
        i += 3
        if i < len(tokens):
            kind, joiner = tokens[i]
            if kind != "op" or joiner not in ("&&", "||"):
                raise QueryError(f"Expected && or || in where clause, got {joiner!r}")
            if joiner == "||":
                groups.append([])
            i += 1
            if i == len(tokens):
                raise QueryError("Where clause ends with an operator")
    return groups


def matches(groups: list[list[Clause]], inv: Any, contacts: list[tuple[str, str]]) -> bool:
    return any(all(op(get(inv, contacts), lit) for get, op, lit in group) for group in groups)


@dataclass(frozen=True)
class Order:
    keys: tuple[tuple[Getter, bool], ...]  # (field getter, descending)

    def sort(self, invoices: list[Any], contacts: list[tuple[str, str]]) -> list[Any]:
        out = invoices
        for getter, descending in reversed(self.keys):

            def key(inv: Any, getter: Getter = getter) -> tuple[bool, Any]:
                value = getter(inv, contacts)
                return (value is None, value if value is not None else 0)

            out = sorted(out, key=key, reverse=descending)
        return out


def parse_order(text: str, fields: Fields | None = None, kind: str = "Invoice") -> Order:
    fields = FIELDS if fields is None else fields
    insensitive = {name.lower(): name for name in fields}
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise QueryError(f"Invalid order clause {text!r}")
        field = insensitive.get(words[0].lower())
        if field is None:
            raise QueryError(f"No property or field '{words[0]}' exists in type '{kind}'")
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise QueryError(f"Invalid sort direction {words[1]!r} (use ASC or DESC)")
        keys.append((fields[field][1], direction == "DESC"))
    return Order(tuple(keys))


def parse_if_modified_since(value: str) -> int:
    """The header as epoch milliseconds, truncated to the second (see module docstring)."""
    text = value.strip()
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            moment = None
    if moment is None:
        raise QueryError(f"If-Modified-Since header {value!r} is not a date")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1000


def split_list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]
