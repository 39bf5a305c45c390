"""One webhook batch: the invoices Xero named, extracted, built, pushed — in about a second.

Through the one orchestrator (:mod:`reverse_etl.app.orchestrator`, as the hourly `sync`): under
the sync lock (the hourly job and a batch never overlap), logged in ``sync_log.runs`` with
``command = 'webhook'`` (stage reached, seconds per stage, dlt load ids, dbt invocation id,
``build_scope = 'webhook'``), with the warehouse kept open for the batch:

1. extract: ``GET /Invoices?IDs=…`` for the named invoices, one call per organisation
   (:func:`pipelines.run.run_xero_extract`; the incremental cursor stays where it was);
2. transform: the fast path (:mod:`reverse_etl.fast_path`) — only the models on the path to
   the invoice actions, only for those invoices, into the ``webhook_*`` schemas, with the
   manifest parsed once per process; not recorded in ``sync_log.builds``;
3. push: ``webhook_reverse_etl.hubspot_invoice_actions`` to HubSpot, and the status-change
   alerts of ``webhook_reverse_etl.invoice_status_changes``;
4. quarantine reported as `sync` reports it (logged in ``sync_log.quarantine``, alerted once).

It does not publish the analysts' database, nor write the customers' side (company balances,
associations): the next hourly sync sees this batch's dlt load, builds the whole project
(``hourly``, :mod:`reverse_etl.core.build_plan`), pushes what is left and publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pipelines.run import run_xero_extract
from reverse_etl.app.orchestrator import WEBHOOK_RUN, Stage, orchestrate
from reverse_etl.app.run_report import SyncReport
from reverse_etl.core.build_plan import BuildPlan
from reverse_etl.core.settings import Settings
from reverse_etl.fast_path import ACTIONS_SCHEMA, FAST_PATH, SCOPE, FastPathBuild
from reverse_etl.push.invoices import run_push

log = logging.getLogger(__name__)


def sync_invoices(
    settings: Settings, invoice_ids: Sequence[str], *, fast_path: FastPathBuild = FAST_PATH
) -> SyncReport:
    """Extract, build and push the named invoices (module docstring). Raises as `sync` does:
    :class:`~reverse_etl.core.errors.RejectedRecordsError` or
    :class:`~reverse_etl.core.errors.QuarantinedRecordsError` after a batch that went through with
    records set aside; anything else when a stage failed (the run log says which)."""
    ids = sorted(set(invoice_ids))
    report = SyncReport()

    def stages(stage: Stage) -> None:
        report.extract = stage("extract", lambda: run_xero_extract(settings, invoice_ids=ids))
        report.plan = BuildPlan(
            SCOPE,
            f"a webhook named {len(ids)} invoice(s): their path only; "
            "the next sync builds the whole project",
        )
        report.transform = stage("transform", lambda: fast_path.build(settings, ids))
        report.push = stage(
            "push",
            lambda: run_push(settings, run_id=report.run_id, actions_schema=ACTIONS_SCHEMA),
        )

    orchestrate(settings, WEBHOOK_RUN, stages, report=report)
    log.info("Webhook batch of %d invoice(s): %s", len(ids), _timings(report.stage_seconds))
    for record in report.quarantined:
        log.warning("Quarantined: %s", record.line())
    report.raise_for_problems()
    return report


def _timings(seconds: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value:.2f}s" for name, value in seconds.items())
