"""The sandbox's own credentials: what its emulators accept, written here and nowhere else.

The product's sandbox mode (``reverse_etl.core.settings``, ``SANDBOX_*``) sends its own copies
of these; the sandbox imports nothing of the product, so a wrong value on either side fails
the sandbox-mode tests instead of being accepted by both (issue 21).
"""

from __future__ import annotations

SANDBOX_XERO_CLIENT_ID = "sandbox-client-id"
SANDBOX_XERO_CLIENT_SECRET = "sandbox-client-secret"
SANDBOX_HUBSPOT_TOKEN = "pat-sandbox-token"
SANDBOX_WEBHOOK_KEY = "sandbox-webhook-key"
