"""The Xero extract's cursors, read from its dlt state: what the analysts' ``meta`` tables show.

The cursors live in dlt's pipeline state (DESIGN.md: "the Xero cursors (dlt state stays
here)"); the sync reads them here and hands them to the publish
(:func:`reverse_etl.analysts.publish.push_then_publish`), which reads nothing of the extract.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.common.exceptions import DltException

from pipelines.cursor import parse_cursor
from pipelines.run import XERO_PIPELINE
from reverse_etl.core.settings import Settings

log = logging.getLogger(__name__)


def xero_cursors(settings: Settings) -> list[tuple[str, str, datetime | None]]:
    """(tenant_id, resource, cursor) for every cursor the Xero extract keeps in its dlt state
    (``{"cursors": {tenant: iso}}`` per resource, pipelines/xero/source.py)."""
    pipelines_dir = Path(settings.state_dir) / "dlt"
    if not (pipelines_dir / XERO_PIPELINE).is_dir():
        return []
    try:
        state: Any = dlt.attach(pipeline_name=XERO_PIPELINE, pipelines_dir=str(pipelines_dir)).state
    except (DltException, OSError, ValueError) as exc:
        log.warning("Xero cursors unavailable for meta.sync_status: %s", exc)
        return []
    rows: list[tuple[str, str, datetime | None]] = []
    for source in (state.get("sources") or {}).values():
        for resource, resource_state in (source.get("resources") or {}).items():
            cursors = resource_state.get("cursors") if isinstance(resource_state, dict) else None
            if isinstance(cursors, dict):
                rows += [(t, resource, parse_cursor(c)) for t, c in cursors.items()]
    return sorted(rows, key=lambda row: (row[0], row[1]))
