"""A local, stateful emulator of the Xero Accounting API (identity, connections, Invoices).

``XeroEmulator`` holds the state and serves it (``.app()``); ``XeroLimits`` sets its rate
limits. See ``emulator.py`` for the Python interface and ``app.py`` / ``control.py`` for HTTP.
"""

from sandbox.xero.emulator import XeroEmulator
from sandbox.xero.limits import XeroLimits

__all__ = ["XeroEmulator", "XeroLimits"]
