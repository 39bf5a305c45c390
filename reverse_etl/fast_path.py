"""The webhook fast path's dbt build: the path to the invoice actions, for the invoices named.

A webhook batch names a few invoices. It builds the models on the path to
``hubspot_invoice_actions`` and ``invoice_status_changes`` (the ``webhook`` selector of
``dbt_project/selectors.yml``: staging, ``int_invoice_line_items``, ``fct_invoices``,
``fct_payments``, ``dim_customers``, ``hubspot_invoices_desired``, the two tables) and the data
tests of the action table, with the same SQL as every other build; only its input is narrowed
and its output put aside (``dbt_project/macros/webhook_fast_path.sql``):

- the ids are written to ``sync_log.webhook_invoice_ids`` just before the build; with the var
  ``webhook_fast_path`` the invoice-grained staging models keep those invoices' rows, the
  customer-grained ones the rows of those invoices' customers (so a customer's name, persons
  and credit come whole). ``dim_customers`` built here counts only the named invoices in its
  receivables: nothing reads them (the push path takes the customer's name from it);
- the relations go to ``webhook_``-prefixed schemas (``webhook_reverse_etl.hubspot_invoice_actions``
  …), so the analysts' marts and the hourly build's action tables are never replaced by a
  partial build; the models before ``reverse_etl`` are ephemeral there (CTEs in the tables it
  writes: https://docs.getdbt.com/docs/build/materializations#ephemeral), compiled once per
  process (not selected, their SQL names no invoice: ``keep_ephemeral``). The tables are
  ``hubspot_invoices_desired`` (a table, as in every build: its CTE chain is the costly query,
  so it runs once, not once in each action table and again in the relationships test —
  measured at 100,000 invoices, 1.8 s instead of 2.9 s a build, 0.75 s of CPU instead of 1.25)
  and the two tables it feeds. The tests store no failures (``store_failures_as: ephemeral``,
  https://docs.getdbt.com/reference/resource-configs/store_failures_as). The selector is a
  YAML selector (https://docs.getdbt.com/reference/node-selection/yaml-selectors);
- nothing is recorded in ``sync_log.builds``: that log is of whole-project builds, and the next
  hourly sync sees the batch's dlt load and builds everything (``reverse_etl/core/build_plan.py``).

One definition of what HubSpot should hold: the models are the same files; a test
(``tests/e2e/test_webhook_fast_path.py``) proves this build's action rows equal a full build's
for the same invoices.

Parsing the project takes ~10 s, so the long-running webhook server parses it once and keeps
the manifest in memory (dbt's programmatic invocations accept a pre-parsed manifest:
``dbtRunner(manifest=...)``, https://docs.getdbt.com/reference/programmatic-invocations). What
dbt decides at parse time stays with the manifest (schema names from
``generate_schema_name``, materializations from ``dbt_project.yml``), while vars given at
invocation are honoured when the models are compiled: measured with dbt-core 1.11, a
manifest parsed with ``webhook_fast_path: true`` and invoked with ``false`` compiles without
the filter but still writes into ``webhook_staging``. So the same vars go to the parse and to
every build, and the manifest is re-parsed when they, the warehouse file or the project's
files change (:func:`reverse_etl.core.build_plan.project_fingerprint`). The ids are a table, not
a var, so they never become SQL text.

The manifest is the process's one cache of parsed projects
(:func:`reverse_etl.transform.parsed_manifest`, keyed by the project's files, the vars and the
database), which also resets the compile state dbt leaves in it between builds.
``--no-write-json`` skips writing manifest.json and run_results.json
(0.7 s; https://docs.getdbt.com/reference/global-configs/json-artifacts), and
``--no-populate-cache`` the listing of every schema (https://docs.getdbt.com/reference/global-configs/cache);
the artefacts of a parse go to ``dbt_project/target/webhook``, away from the hourly build's.
dbt does not support concurrent invocations in one process (the programmatic invocations
page): builds hold a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reverse_etl.core import sync_log
from reverse_etl.core.dbt_invocation import invoke, target_dir
from reverse_etl.core.dbt_results import node_failure
from reverse_etl.core.errors import TransformError
from reverse_etl.core.settings import Settings
from reverse_etl.transform import (
    TransformReport,
    dbt_args,
    dbt_vars_for,
    existing_warehouse,
    parsed_manifest,
    report_label,
)

log = logging.getLogger(__name__)

FAST_PATH_VAR = "webhook_fast_path"
IDS_TABLE = "sync_log.webhook_invoice_ids"
ACTIONS_SCHEMA = "webhook_reverse_etl"
SELECTOR = "webhook"
SCOPE = "webhook"
_FAILED = {"error", "fail", "runtime error"}


def _target_path() -> Path:
    """The webhook builds' artifacts, beside the hourly build's in dbt's target folder."""
    return target_dir() / "webhook"


@dataclass
class FastPathBuild:
    """The fast path's build, on the process's parsed manifest; :meth:`build` per batch."""

    _lock: threading.Lock = field(default_factory=threading.Lock)

    def prepare(self, settings: Settings) -> Any:
        """The manifest for these settings, parsed now unless the one in memory still fits.
        The webhook server calls it once at start, so the first event does not pay for it."""
        started = time.perf_counter()
        warehouse = existing_warehouse(settings)
        manifest = parsed_manifest(
            warehouse,
            _fast_path_vars(settings),
            target_path=_target_path(),
            keep_ephemeral=True,
        )
        if manifest is None:
            raise TransformError("dbt could not parse the project (webhook): see dbt.log.")
        log.debug("dbt project ready for webhooks in %.1f s.", time.perf_counter() - started)
        return manifest

    def build(self, settings: Settings, invoice_ids: Sequence[str]) -> TransformReport:
        """Build the path for ``invoice_ids`` into the ``webhook_*`` schemas. Raises
        :class:`TransformError` naming each failed model or test, as `run_transform` does."""
        # dbt is heavy to import: only the processes that build load it
        from dbt.cli.main import dbtRunner
        from dbt_common.invocation import get_invocation_id

        warehouse = existing_warehouse(settings)
        manifest = self.prepare(settings)
        write_invoice_ids(settings, invoice_ids)
        args = [
            "build",
            "--selector",
            SELECTOR,
            *dbt_args(warehouse, _fast_path_vars(settings), target_path=_target_path()),
            "--no-write-json",
            "--no-populate-cache",
        ]
        started = time.perf_counter()
        with self._lock:
            result = invoke(warehouse, dbtRunner(manifest=manifest), args)
        seconds = time.perf_counter() - started
        if result.exception is not None and result.result is None:
            raise TransformError(f"dbt build (webhook) could not run: {result.exception}.")
        node_results = list(getattr(result.result, "results", None) or [])
        failures = [node_failure(r, warehouse) for r in node_results if str(r.status) in _FAILED]
        if failures or not result.success:
            details = "; ".join(f.describe() for f in failures) or str(result.exception)
            raise TransformError(f"dbt build (webhook) failed: {details}.")
        kinds = [r.node.resource_type for r in node_results]
        warned = tuple(r.node.name for r in node_results if str(r.status) == "warn")
        return TransformReport(
            models=kinds.count("model"),
            tests=kinds.count("test"),
            unit_tests=0,
            warnings=len(warned),
            skipped=sum(1 for r in node_results if str(r.status) == "skipped"),
            seconds=seconds,
            warehouse_path=report_label(warehouse),
            warned=warned,
            invocation_id=get_invocation_id(),
            scope=SCOPE,
        )


# The webhook server's: one per process, parsed once.
FAST_PATH = FastPathBuild()


def write_invoice_ids(settings: Settings, invoice_ids: Sequence[str]) -> None:
    """Replace ``sync_log.webhook_invoice_ids`` with this batch's ids (the filter's input), in
    one transaction. Portable SQL: the table is created once, then emptied and refilled
    (PostgreSQL has no ``create or replace table``; a ``drop`` each batch would also take an
    exclusive lock)."""
    with sync_log.open_warehouse(settings.warehouse) as con:
        con.execute(f"create table if not exists {IDS_TABLE} (invoice_id varchar)")
        con.execute("begin")
        try:
            con.execute(f"delete from {IDS_TABLE}")
            con.execute(
                f"insert into {IDS_TABLE} (invoice_id) "
                "select distinct unnest(cast(? as varchar[]))",
                [sorted(set(invoice_ids))],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def _fast_path_vars(settings: Settings) -> dict[str, Any]:
    return dbt_vars_for(settings, {FAST_PATH_VAR: True})
