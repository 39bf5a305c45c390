"""The Xero refresh-token file: written atomically, readable by its owner only.

Xero rotates the refresh token on every use (the old one stops working), so losing the newest
one locks the integration out until a person re-authorises. :class:`~pipelines.xero.client.
XeroClient` writes it here *before* using the access token that came with it. The file also
records a hash of the ``XERO_REFRESH_TOKEN`` value it descends from: a different value in the
variable means the user re-authorised, and the variable wins over the file.

Why the file is preferred over ``XERO_REFRESH_TOKEN`` when it exists: after the first refresh
the variable holds a token Xero has already invalidated; only the file holds the live one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reverse_etl.core.errors import XeroAuthError
from reverse_etl.core.private_files import shared_folder


def seed_hash(token: str | None) -> str | None:
    return hashlib.sha256(token.encode()).hexdigest() if token else None


def write_token_file(path: Path, refresh_token: str, seed_hash: str | None) -> None:
    """Atomically replace the token file (temp file in the same directory, fsync, rename),
    readable by the owner only: a crash leaves either the old file or the new one, never half."""
    shared_folder(path.parent)
    payload = json.dumps(
        {
            "refresh_token": refresh_token,
            "seed_sha256": seed_hash,
            "saved_at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    fd, tmp = tempfile.mkstemp(prefix=".xero_token.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_token_file(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise XeroAuthError(
            f"The Xero token file {path} is unreadable or corrupt. Delete it and set "
            "XERO_REFRESH_TOKEN to a freshly authorised refresh token."
        ) from None
    return data if isinstance(data, dict) and data.get("refresh_token") else None


def current_refresh_token(path: Path, env_token: str | None) -> str:
    """The refresh token to present: the saved one, unless ``XERO_REFRESH_TOKEN`` changed since
    the file's chain began (the user re-authorised and set a new token)."""
    saved = read_token_file(path)
    if saved and (env_token is None or saved.get("seed_sha256") == seed_hash(env_token)):
        return str(saved["refresh_token"])
    if env_token is None:
        raise XeroAuthError(
            f"XERO_REFRESH_TOKEN is not set and there is no saved token file ({path}). "
            "Authorise the app and set XERO_REFRESH_TOKEN to its refresh token."
        )
    return env_token
