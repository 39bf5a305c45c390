"""``/_sandbox/`` control routes: drive the Xero emulator from another process.

``POST /_sandbox/activity {"hours": 1, "seed": null}`` → counts by kind;
``POST /_sandbox/seed {"invoices": 1000, "seed": 7, "tenants": 1, "reset": false}``;
``POST /_sandbox/reset``; ``GET /_sandbox/tenants``;
``POST /_sandbox/invoices {"tenant_id": …, "ContactName": …, "LineItems": [...]}`` (create);
``GET /_sandbox/invoices/{id}``;
``POST /_sandbox/invoices/{id}/<action>`` with action one of pay, credit, void, delete, edit,
authorise, submit, remove_payments, corrupt, duplicate, restore (``pay``: ``{"amount": "10.00"}``
optional; ``credit``: ``{"amount"}``; ``edit``: fields; ``corrupt``: ``{"field", "value"}`` —
serve a raw value for one JSON field (dotted paths reach line items); ``duplicate``: field
overrides of a second copy served in the same page; ``restore``: undo corrupt/duplicate, as
when Xero corrects the invoice);
``POST /_sandbox/payments/{PaymentID}/delete``;
``POST /_sandbox/credit-notes/{CreditNoteID|OverpaymentID|PrepaymentID}/allocate
{"invoice_id", "amount", "date": null}``;
``POST /_sandbox/credit-notes/{id}/allocations/{AllocationID}/remove`` (Xero's ``DELETE`` of an
allocation: later reads no longer list it) and ``POST /_sandbox/credit-notes/{id}/void``;
``POST /_sandbox/contacts/{ContactID}/rename {"name"}`` and ``…/email {"email"}``; ``pay``
also takes ``{"date": "YYYY-MM-DD"}``;
``GET|POST /_sandbox/limits`` (partial updates; ``{"unlimited": true}``; ``{"default": true}``);
``POST /_sandbox/save {"path": …}`` (defaults to the file the state was loaded from);
``POST /_sandbox/webhooks {"url", "key", "deliver_every": null}``,
``POST /_sandbox/webhooks/flush``,
``POST /_sandbox/webhooks/intent``; ``POST /_sandbox/clients {"client_id", "client_secret",
"tenant_ids"}``; ``POST /_sandbox/refresh-tokens {"client_id"}`` → ``{"refresh_token"}``.
Refused mutations answer 400 with Xero's ``ValidationException`` body; unknown ids 404.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.xero.limits import XeroLimits
from sandbox.xero.store import XeroValidationError

if TYPE_CHECKING:
    from sandbox.xero.emulator import XeroEmulator

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def validation_error(message: str) -> web.Response:
    return web.json_response(
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": message}]}],
        },
        status=400,
    )


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise XeroValidationError("The request body must be a JSON object")
    return data


def _plain(value: Any) -> Any:
    """The emulator's own views hold Decimals (balances) and dates: serve them as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json(result: Any, status: int = 200) -> web.Response:
    return web.json_response(
        result, status=status, dumps=lambda data: json.dumps(data, default=_plain)
    )


def _guarded(handler: Callable[[web.Request, dict[str, Any]], Any]) -> Route:
    async def route(request: web.Request) -> web.StreamResponse:
        try:
            result = handler(request, await _body(request))
        except XeroValidationError as exc:
            return validation_error(str(exc))
        except KeyError as exc:
            return web.json_response({"error": f"not found: {exc.args[0]}"}, status=404)
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if isinstance(result, web.StreamResponse):
            return result
        return _json(result)

    return route


def control_routes(emu: XeroEmulator) -> list[web.RouteDef]:
    def activity(_r: web.Request, body: dict[str, Any]) -> dict[str, int]:
        return emu.activity(float(body.get("hours", 1.0)), body.get("seed"))

    def seed(_r: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("reset"):
            emu.reset()
        ids = emu.seed_demo(
            int(body.get("invoices", 1000)), int(body.get("seed", 7)), int(body.get("tenants", 1))
        )
        return {"tenant_ids": ids, "invoices": len(emu.store.invoices)}

    def reset(_r: web.Request, _body: dict[str, Any]) -> dict[str, bool]:
        emu.reset()
        return {"reset": True}

    def tenants(_r: web.Request, _body: dict[str, Any]) -> dict[str, Any]:
        return {"tenants": [t.public() for t in emu.store.tenants]}

    def create(_r: web.Request, body: dict[str, Any]) -> web.Response:
        tenant_id = body.pop("tenant_id", None) or body.pop("TenantID", None)
        return _json(emu.create_invoice(tenant_id, **body), status=201)

    def show(request: web.Request, _body: dict[str, Any]) -> dict[str, Any]:
        return emu.invoice(request.match_info["invoice_id"])

    def act(request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        invoice_id, action = request.match_info["invoice_id"], request.match_info["action"]
        amount = Decimal(str(body["amount"])) if body.get("amount") is not None else None
        if action == "pay":
            return emu.pay(invoice_id, amount, body.get("date"))
        if action == "credit":
            if amount is None:
                raise XeroValidationError("credit needs an amount")
            return emu.credit(invoice_id, amount)
        if action == "edit":
            return emu.edit(invoice_id, **body)
        if action == "corrupt":
            return emu.corrupt_invoice(invoice_id, str(body["field"]), body.get("value"))
        if action == "duplicate":
            return emu.duplicate_in_page(invoice_id, **body)
        simple = {
            "void": emu.void,
            "delete": emu.delete,
            "authorise": emu.authorise,
            "submit": emu.submit,
            "remove_payments": emu.remove_payments,
            "restore": emu.restore_invoice,
        }
        if action not in simple:
            raise ValueError(f"unknown action {action!r}")
        return simple[action](invoice_id)

    def delete_payment(request: web.Request, _body: dict[str, Any]) -> dict[str, Any]:
        return emu.delete_payment(request.match_info["payment_id"])

    def allocate(request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        return emu.allocate_credit(
            request.match_info["doc_id"],
            str(body["invoice_id"]),
            Decimal(str(body["amount"])),
            body.get("date"),
        )

    def remove_allocation(request: web.Request, _body: dict[str, Any]) -> dict[str, Any]:
        allocation = emu.remove_allocation(
            request.match_info["doc_id"], request.match_info["allocation_id"]
        )
        return {
            **allocation,
            "amount": str(allocation["amount"]),
            "allocation_date": allocation["allocation_date"].isoformat(),
        }

    def void_credit(request: web.Request, _body: dict[str, Any]) -> dict[str, Any]:
        voided = emu.void_credit(request.match_info["doc_id"])
        return {**voided, "remaining": str(voided["remaining"])}

    def contact(request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        contact_id, action = request.match_info["contact_id"], request.match_info["action"]
        if action == "rename":
            return emu.rename_contact(contact_id, str(body["name"]))
        if action == "email":
            return emu.set_contact_email(contact_id, str(body["email"]))
        raise ValueError(f"unknown action {action!r} (rename or email)")

    def get_limits(_r: web.Request, _body: dict[str, Any]) -> dict[str, Any]:
        return emu.limits.public()

    def set_limits(_r: web.Request, body: dict[str, Any]) -> dict[str, Any]:
        if body.pop("unlimited", False):
            emu.limits = XeroLimits.unlimited()
        elif body.pop("default", False):
            emu.limits = XeroLimits()
        emu.limits = emu.limits.updated(body)
        return emu.limits.public()

    def save(_r: web.Request, body: dict[str, Any]) -> dict[str, str]:
        path = body.get("path") or emu.state_path
        if not path:
            raise ValueError('no path: send {"path": "..."} (the state was not loaded from a file)')
        return {"saved": str(emu.save(path))}

    def webhooks(_r: web.Request, body: dict[str, Any]) -> dict[str, bool]:
        every = body.get("deliver_every")
        emu.configure_webhooks(str(body["url"]), str(body["key"]), float(every) if every else None)
        return {"configured": True}

    def flush(_r: web.Request, _body: dict[str, Any]) -> dict[str, Any]:
        return {
            "deliveries": [{"status": d.status, "events": d.events} for d in emu.flush_webhooks()]
        }

    def intent(_r: web.Request, _body: dict[str, Any]) -> dict[str, int]:
        good, bad = emu.send_intent_to_receive()
        return {"correctly_signed": good, "incorrectly_signed": bad}

    def clients(_r: web.Request, body: dict[str, Any]) -> dict[str, bool]:
        emu.add_client(str(body["client_id"]), str(body["client_secret"]), body.get("tenant_ids"))
        return {"added": True}

    def refresh_tokens(_r: web.Request, body: dict[str, Any]) -> dict[str, str]:
        return {"refresh_token": emu.issue_refresh_token(str(body["client_id"]))}

    prefix = "/_sandbox"
    return [
        web.post(f"{prefix}/activity", _guarded(activity)),
        web.post(f"{prefix}/seed", _guarded(seed)),
        web.post(f"{prefix}/reset", _guarded(reset)),
        web.get(f"{prefix}/tenants", _guarded(tenants)),
        web.post(f"{prefix}/invoices", _guarded(create)),
        web.get(f"{prefix}/invoices/{{invoice_id}}", _guarded(show)),
        web.post(f"{prefix}/invoices/{{invoice_id}}/{{action}}", _guarded(act)),
        web.post(f"{prefix}/payments/{{payment_id}}/delete", _guarded(delete_payment)),
        web.post(f"{prefix}/credit-notes/{{doc_id}}/allocate", _guarded(allocate)),
        web.post(
            f"{prefix}/credit-notes/{{doc_id}}/allocations/{{allocation_id}}/remove",
            _guarded(remove_allocation),
        ),
        web.post(f"{prefix}/credit-notes/{{doc_id}}/void", _guarded(void_credit)),
        web.post(f"{prefix}/contacts/{{contact_id}}/{{action}}", _guarded(contact)),
        web.get(f"{prefix}/limits", _guarded(get_limits)),
        web.post(f"{prefix}/limits", _guarded(set_limits)),
        web.post(f"{prefix}/save", _guarded(save)),
        web.post(f"{prefix}/webhooks", _guarded(webhooks)),
        web.post(f"{prefix}/webhooks/flush", _guarded(flush)),
        web.post(f"{prefix}/webhooks/intent", _guarded(intent)),
        web.post(f"{prefix}/clients", _guarded(clients)),
        web.post(f"{prefix}/refresh-tokens", _guarded(refresh_tokens)),
    ]
