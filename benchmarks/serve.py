"""One emulator in its own process, so its CPU work never shares a GIL with the tool measured.

``python -m benchmarks.serve xero --invoices 100000 --tenants 2 --unlimited`` or
``python -m benchmarks.serve hubspot --requests-per-10s 190 --latency-ms 100`` seeds and
serves the emulator on a free loopback port, prints one JSON line (``{"url": ..., ...}``) on
stdout, and serves until its standard input closes (the harness holds the pipe), so a crashed
harness never leaves an emulator behind.

Besides the emulator's own ``/_sandbox/`` routes, it adds a few bulk helpers that only a
benchmark needs, under ``/_sandbox/bench/`` (never counted, delayed or faulted):

- ``POST /_sandbox/bench/limits`` ``{"unlimited": true}`` or limit fields: set the limits;
- ``POST /_sandbox/bench/xero/touch`` ``{"count": N}``: edit the reference of N invoices, as
  a person would in Xero (each gets a new ``UpdatedDateUTC``);
- ``POST /_sandbox/bench/hubspot/hand-edit`` ``{"object": name, "count": N}``: change one
  synced property of N records by hand in HubSpot (Xero, the source of truth, puts it back);
- ``POST /_sandbox/bench/hubspot/seed`` ``{"object": name, "rows": [{...}]}``: create records
  directly (no limits), answering ``{"ids": [...]}``;
- ``POST /_sandbox/bench/xero/tap-client``: register a standard app and mint a refresh token
  for a peer extractor that only knows the refresh-token grant;
- ``POST /_sandbox/bench/xero/pick`` ``{"count": N}``: N approved sales invoices spread over
  the ledger, ``{"invoices": [{"tenant_id", "invoice_id", "reference"}]}`` (the webhook
  benchmark then edits them through the emulator's own control routes);
- ``POST /_sandbox/bench/hubspot/values`` ``{"object", "property", "key", "values": [...]}``:
  one property of the records whose unique ``key`` property has those values,
  ``{"found": {value: property value or null}}`` (polled by the webhook benchmark without
  spending the portal's rate limit).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from aiohttp import web

from sandbox.runner import start_in_thread

TAP_CLIENT_ID = "bench-tap-xero-client"
TAP_CLIENT_SECRET = "bench-tap-xero-secret"


def _json_body(request: web.Request) -> Any:
    return request.json() if request.can_read_body else _empty()


async def _empty() -> dict[str, Any]:
    return {}


def xero_routes(emu: Any) -> list[web.RouteDef]:
    from sandbox.xero import XeroLimits

    async def limits(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if body.pop("unlimited", False):
            emu.limits = XeroLimits.unlimited()
        elif body.pop("default", False):
            emu.limits = XeroLimits()
        if body:
            emu.limits = emu.limits.updated(body)
        emu.limiter.reset()
        return web.json_response(emu.limits.public())

    async def touch(request: web.Request) -> web.Response:
        body = await _json_body(request)
        count = int(body.get("count", 0))
        return web.json_response({"touched": touch_invoices(emu, count, body.get("skip", 0))})

    async def tap_client(_request: web.Request) -> web.Response:
        emu.add_client(TAP_CLIENT_ID, TAP_CLIENT_SECRET, None)
        token = emu.issue_refresh_token(TAP_CLIENT_ID)
        return web.json_response(
            {
                "client_id": TAP_CLIENT_ID,
                "client_secret": TAP_CLIENT_SECRET,
                "refresh_token": token,
                "tenant_ids": emu.tenant_ids,
            }
        )

    async def pick(request: web.Request) -> web.Response:
        body = await _json_body(request)
        return web.json_response({"invoices": pick_invoices(emu, int(body.get("count", 0)))})

    return [
        web.post("/_sandbox/bench/limits", limits),
        web.post("/_sandbox/bench/xero/touch", touch),
        web.post("/_sandbox/bench/xero/tap-client", tap_client),
        web.post("/_sandbox/bench/xero/pick", pick),
    ]


def _editable_sales(store: Any) -> list[Any]:
    return [
        inv
        for inv in store.invoices.values()
        if inv.type == "ACCREC" and inv.status in ("AUTHORISED", "PAID")
    ]


def pick_invoices(emu: Any, count: int) -> list[dict[str, str]]:
    """``count`` approved sales invoices (mirrored to HubSpot by default, reference editable),
    spread evenly over the ledger."""
    store = emu.store
    with store.lock:
        invoices = _editable_sales(store)
        step = max(1, len(invoices) // max(count, 1))
        return [
            {
                "tenant_id": store.tenants[inv.tenant].tenant_id,
                "invoice_id": inv.invoice_id,
                "reference": inv.reference,
            }
            for inv in invoices[::step][:count]
        ]


def touch_invoices(emu: Any, count: int, skip: int = 0) -> int:
    """Edit ``count`` approved sales invoices' reference (a synced property), spread over the
    ledger (Xero lets a person edit the reference of an AUTHORISED or PAID invoice).

    Uses the emulator's mutation API when it has one for references; otherwise changes the
    record and re-indexes it through ``Store.touch`` exactly as the mutations module does.
    """
    store = emu.store
    with store.lock:
        invoices = _editable_sales(store)
        if not invoices:
            return 0
        step = max(1, len(invoices) // max(count, 1))
        chosen = invoices[skip % step :: step][:count]
        now_ms = int(emu.now().timestamp() * 1000)
        for n, inv in enumerate(chosen):
            inv.reference = f"BENCH-{skip}-{n}"
            store.touch(inv, now_ms)
    clear = getattr(emu, "_clear_cache", None)
    if clear is not None:
        clear()
    return len(chosen)


def hubspot_routes(emu: Any) -> list[web.RouteDef]:
    from sandbox.hubspot.limits import HubSpotLimits

    async def limits(request: web.Request) -> web.Response:
        body = await _json_body(request)
        base = HubSpotLimits.unlimited() if body.pop("unlimited", False) else emu.limits
        emu.limits = HubSpotLimits.from_dict({**base.to_dict(), **body})
        return web.json_response(emu.limits.to_dict())

    async def hand_edit(request: web.Request) -> web.Response:
        body = await _json_body(request)
        object_type = str(body.get("object", "xero_invoice"))
        count = int(body.get("count", 0))
        prop = str(body.get("property", "reference"))
        records = emu.records(object_type)
        edited = 0
        for record in records[:count]:
            emu.edit_by_hand(object_type, record["id"], {prop: f"hand edit {edited}"})
            edited += 1
        return web.json_response({"edited": edited})

    async def seed(request: web.Request) -> web.Response:
        body = await _json_body(request)
        ids = emu.seed(str(body["object"]), list(body.get("rows") or []))
        return web.json_response({"ids": ids})

    async def values(request: web.Request) -> web.Response:
        body = await _json_body(request)
        found = record_values(
            emu,
            str(body.get("object", "xero_invoice")),
            str(body.get("key", "xero_invoice_id")),
            str(body.get("property", "reference")),
            [str(v) for v in body.get("values") or []],
        )
        return web.json_response({"found": found})

    return [
        web.post("/_sandbox/bench/limits", limits),
        web.post("/_sandbox/bench/hubspot/hand-edit", hand_edit),
        web.post("/_sandbox/bench/hubspot/seed", seed),
        web.post("/_sandbox/bench/hubspot/values", values),
    ]


def record_values(
    emu: Any, object_type: str, key: str, prop: str, keys: list[str]
) -> dict[str, str | None]:
    """``prop`` of the records whose unique ``key`` property equals each of ``keys`` (None when
    no such record, or the object type does not exist yet)."""
    with emu.lock:
        try:
            resolved = emu.store.resolve(object_type)
        except Exception:  # no such object yet: nothing is visible
            return dict.fromkeys(keys)
        out: dict[str, str | None] = {}
        for value in keys:
            record = resolved.find_unique(key, value)
            out[value] = None if record is None else record.value(prop)
        return out


def build(args: argparse.Namespace) -> tuple[Any, web.Application, dict[str, Any]]:
    info: dict[str, Any] = {"api": args.api}
    if args.api == "xero":
        from sandbox.xero import XeroEmulator, XeroLimits

        emu: Any = XeroEmulator(limits=XeroLimits.unlimited() if args.unlimited else None)
        if args.invoices:
            info["tenant_ids"] = emu.seed_demo(
                invoices=args.invoices, seed=args.seed, tenants=args.tenants
            )
        routes = xero_routes(emu)
    else:
        from sandbox.hubspot import HubSpotEmulator
        from sandbox.hubspot.limits import HubSpotLimits

        limits = HubSpotLimits.unlimited()
        if not args.unlimited:
            limits = HubSpotLimits.from_dict(
                {**limits.to_dict(), "requests_per_window": args.requests_per_10s}
            )
        emu = HubSpotEmulator(limits=limits)
        routes = hubspot_routes(emu)
    emu.faults.latency_seconds = args.latency_ms / 1000
    app = emu.app()
    app.add_routes(routes)
    return emu, app, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("api", choices=("xero", "hubspot"))
    parser.add_argument("--invoices", type=int, default=0, help="Xero: invoices to seed")
    parser.add_argument("--tenants", type=int, default=1, help="Xero: organisations to seed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--unlimited", action="store_true", help="switch the rate limits off")
    parser.add_argument("--requests-per-10s", type=int, default=190, help="HubSpot limit")
    parser.add_argument("--latency-ms", type=int, default=0, help="simulated latency per call")
    args = parser.parse_args(argv)
    _emu, app, info = build(args)
    server = start_in_thread(app, 0)
    info["url"] = server.url
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()  # until the harness closes the pipe (or dies)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
