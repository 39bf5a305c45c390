"""``/_sandbox/`` control routes for the Xero emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.xero.emulator import XeroEmulator


def control_routes(emu: XeroEmulator) -> list[web.RouteDef]:
    return []
