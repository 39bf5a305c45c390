"""Local, stateful emulator of HubSpot's CRM v3 API (custom objects), served over real HTTP.

``HubSpotEmulator().app()`` is an aiohttp application; serve it with
``sandbox.runner.start_in_thread``. See :mod:`sandbox.hubspot.emulator` for the Python
interface and :mod:`sandbox.hubspot.control` for the ``/_sandbox/`` routes.
"""

from sandbox.hubspot.emulator import ALL_SCOPES, HubSpotEmulator
from sandbox.hubspot.limits import HubSpotLimits

__all__ = ["ALL_SCOPES", "HubSpotEmulator", "HubSpotLimits"]
