"""Which dbt build a sync needs, if any: pay only for what changed (DESIGN.md, "Principles").

Every successful build of the whole project records a row in ``sync_log.builds``: its scope,
the fingerprint of what it was built from (the dbt project's files and the vars the settings
pass), the newest dlt load of each raw dataset it saw, and the local date of each Xero
organisation it was built for. A successful push of that build marks it ``pushed``. A sync
then compares, after its extract:

1. ``--full-refresh`` or ``--since``: a daily build, as asked.
2. No earlier build, or a different fingerprint (new models, another mirroring policy): daily.
3. The day changed in an organisation's time zone since the last daily build: daily. Ageing,
   days overdue and the companies' overdue balances depend on "today"; the daily build also
   runs every data test (``dbt_project/selectors.yml``).
4. A dlt load newer than the last build's that wrote rows into ``raw_xero`` or ``raw_hubspot``
   (the extract, a webhook batch or ``invoice-sync extract`` loaded something; a package that
   carries only a source's state is no new data): hourly — every model, and the data tests
   that guard the writes to HubSpot.
5. The last build's actions were not all confirmed written (the push failed, HubSpot rejected
   some, or it was a dry run), or status-change alerts wait to be delivered: hourly, so the
   push retries them.
6. Otherwise nothing can differ from what the last build computed and HubSpot confirmed: the
   sync skips the transform, the push and the publish, and says why in its summary and in
   ``sync_log.runs.skip_reason``.

A push writes HubSpot's answers back into ``raw_hubspot`` without a dlt load (the write-back of
:mod:`reverse_etl.core.sync_log`): that is HubSpot now holding what the build asked for, so it is no
change to rebuild for. A person's edit in HubSpot arrives through the snapshot, as a dlt load.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reverse_etl.core.warehouse import MISSING_RELATION, Connection, engine_of

log = logging.getLogger(__name__)

SKIP, HOURLY, DAILY, FULL = "skipped", "hourly", "daily", "full"
# scopes that build every model (a narrower build, e.g. after a push, records no row)
WHOLE_PROJECT = (HOURLY, DAILY, FULL)
# daily and full run every data test and are built for "today"
DAY_SCOPES = (DAILY, FULL)
RAW_DATASETS = ("raw_xero", "raw_hubspot")

DDL = """
create schema if not exists sync_log;
create table if not exists sync_log.builds (
    run_id varchar,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    scope varchar not null,
    fingerprint varchar not null,
    load_marks varchar not null,
    local_dates varchar not null,
    pushed boolean not null default false,
    dbt_invocation_id varchar
);
"""


def ensure_builds_table(con: Connection) -> None:
    """``sync_log.builds``, created when missing. On DuckDB the DDL runs each time, as it always
    did; elsewhere only when the catalogue lacks the table (PostgreSQL checks the ``CREATE``
    privilege before it looks for an existing schema or table, see
    :func:`reverse_etl.core.sync_log.ensure_tables`)."""
    if engine_of(con) != "duckdb":
        found = con.execute(
            "select 1 from information_schema.tables "
            "where table_schema = 'sync_log' and table_name = 'builds'"
        ).fetchone()
        if found:
            return
    con.execute(DDL)


# The files a build is made from; anything else in dbt_project/ (target/, logs/) is output.
_PROJECT_INPUTS = ("models", "macros", "seeds", "tests", "dbt_project.yml", "selectors.yml")


@dataclass(frozen=True)
class BuildPlan:
    """What the transform of this run does: ``scope`` skipped | hourly | daily, and why."""

    scope: str
    reason: str

    @property
    def skipped(self) -> bool:
        return self.scope == SKIP


@dataclass(frozen=True)
class BuildInputs:
    """What a build is built from, read just before it runs (compared by the next run)."""

    fingerprint: str
    load_marks: dict[str, str | None]
    local_dates: dict[str, str]


def project_fingerprint(project_dir: Path, dbt_vars: Mapping[str, Any]) -> str:
    """sha256 of the dbt project's source files (paths and contents) and the build's vars."""
    digest = hashlib.sha256(json.dumps(dict(dbt_vars), sort_keys=True, default=str).encode())
    for name in _PROJECT_INPUTS:
        root = project_dir / name
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            if path.is_file():
                digest.update(str(path.relative_to(project_dir)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def read_inputs(con: Connection, fingerprint: str, now: datetime) -> BuildInputs:
    """The newest dlt load id of each raw dataset, and each organisation's local date."""
    marks: dict[str, str | None] = {}
    for dataset in RAW_DATASETS:
        try:
            row = con.execute(f'select max(load_id) from "{dataset}"._dlt_loads').fetchone()
        except MISSING_RELATION:  # nothing loaded into that dataset yet
            row = None
        marks[dataset] = None if row is None or row[0] is None else str(row[0])
    return BuildInputs(fingerprint, marks, local_dates(con, now))


def local_dates(con: Connection, now: datetime) -> dict[str, str]:
    """Each organisation's date at ``now`` in its time zone (UTC when unknown), as the
    ``organisation_today`` macro computes it: ``{tenant_id: 'YYYY-MM-DD'}``."""
    try:
        rows = con.execute("select tenant_id, timezone from raw_xero.organisations").fetchall()
    except MISSING_RELATION:
        rows = []
    dates: dict[str, str] = {}
    for tenant_id, zone in rows:
        dates[str(tenant_id)] = _local_date(now, zone).isoformat()
    if not dates:  # no organisation read yet: the UTC date stands for all
        dates["*"] = _local_date(now, None).isoformat()
    return dates


def _local_date(now: datetime, zone: str | None) -> date:
    try:
        return now.astimezone(ZoneInfo(zone or "UTC")).date()
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(ZoneInfo("UTC")).date()


@dataclass(frozen=True)
class _Build:
    finished_at: datetime
    scope: str
    fingerprint: str
    load_marks: dict[str, str | None]
    local_dates: dict[str, str]
    pushed: bool


def _last_build(con: Connection, scopes: tuple[str, ...]) -> _Build | None:
    placeholders = ", ".join("?" for _ in scopes)
    row = con.execute(
        "select finished_at, scope, fingerprint, load_marks, local_dates, pushed "
        f"from sync_log.builds where scope in ({placeholders}) "
        "order by finished_at desc limit 1",
        list(scopes),
    ).fetchone()
    if row is None:
        return None
    return _Build(row[0], row[1], row[2], json.loads(row[3]), json.loads(row[4]), bool(row[5]))


def plan_build(con: Connection, inputs: BuildInputs, *, force: str | None = None) -> BuildPlan:
    """The scope this run's transform needs (module docstring); ``force`` names why a daily
    build was asked for (``--full-refresh``, ``--since``)."""
    ensure_builds_table(con)
    if force:
        return BuildPlan(DAILY, force)
    last = _last_build(con, WHOLE_PROJECT)
    if last is None:
        return BuildPlan(DAILY, "no earlier build in this warehouse")
    if last.fingerprint != inputs.fingerprint:
        return BuildPlan(DAILY, "the dbt project or the mirroring settings changed")
    last_day = _last_build(con, DAY_SCOPES)
    if last_day is None or last_day.fingerprint != inputs.fingerprint:
        return BuildPlan(DAILY, "no daily build with these settings yet")
    new_days = sorted(
        {d for tenant, d in inputs.local_dates.items() if last_day.local_dates.get(tenant) != d}
    )
    if new_days:
        return BuildPlan(DAILY, f"a new day ({', '.join(new_days)}): ageing is rebuilt")
    changed = [
        d
        for d in RAW_DATASETS
        if inputs.load_marks.get(d) != last.load_marks.get(d)
        and _data_loaded_since(con, d, last.load_marks.get(d))
    ]
    if changed:
        return BuildPlan(HOURLY, f"new data in {' and '.join(changed)} since the last build")
    if not last.pushed:
        return BuildPlan(HOURLY, "the last build's writes were not all confirmed by HubSpot")
    waiting = _undelivered_alerts(con)
    if waiting:  # the push stage re-sends them (reverse_etl/push/alerts.py)
        return BuildPlan(HOURLY, f"{waiting} status-change alert(s) wait to be delivered")
    built = last.finished_at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC")
    return BuildPlan(
        SKIP,
        f"nothing changed in Xero or HubSpot since the {last.scope} build of {built}, "
        "and HubSpot holds what it computed",
    )


def _data_loaded_since(con: Connection, dataset: str, mark: str | None) -> bool:
    """Whether a dlt package loaded after ``mark`` wrote a row into a table of ``dataset``.
    A package can carry only the pipeline's state (a source that moved a cursor or a read
    position and found nothing new): that is no data to rebuild for."""
    new = [
        row[0]
        for row in con.execute(
            f'select load_id from "{dataset}"._dlt_loads '
            "where ? is null or cast(load_id as double precision) > cast(? as double precision)",
            [mark, mark],
        ).fetchall()
    ]
    if not new:
        return False
    tables = con.execute(
        "select table_name from information_schema.columns where table_schema = ? "
        "and column_name = '_dlt_load_id' and table_name not like '\\_dlt%' escape '\\'",
        [dataset],
    ).fetchall()
    for (table,) in tables:
        hit = con.execute(
            f'select 1 from "{dataset}"."{table}" where _dlt_load_id in '
            "(select unnest(cast(? as varchar[]))) limit 1",
            [new],
        ).fetchone()
        if hit:
            return True
    return False


def _undelivered_alerts(con: Connection) -> int:
    try:
        row = con.execute("select count(*) from sync_log.undelivered_status_changes").fetchone()
    except MISSING_RELATION:
        return 0
    return int(row[0]) if row else 0


def record_build(
    con: Connection,
    *,
    scope: str,
    inputs: BuildInputs,
    started_at: datetime,
    finished_at: datetime,
    run_id: str | None = None,
    dbt_invocation_id: str | None = None,
) -> None:
    """Log a successful build of the whole project (not yet pushed)."""
    ensure_builds_table(con)
    con.execute(
        "insert into sync_log.builds (run_id, started_at, finished_at, scope, fingerprint, "
        "load_marks, local_dates, pushed, dbt_invocation_id) "
        "values (?, ?, ?, ?, ?, ?, ?, false, ?)",
        [
            run_id,
            started_at,
            finished_at,
            scope,
            inputs.fingerprint,
            json.dumps(inputs.load_marks, sort_keys=True),
            json.dumps(inputs.local_dates, sort_keys=True),
            dbt_invocation_id,
        ],
    )


def mark_pushed(con: Connection) -> None:
    """HubSpot confirmed every write of the newest build: until new data arrives or the day
    turns, a sync has nothing to do."""
    ensure_builds_table(con)
    con.execute(
        "update sync_log.builds set pushed = true where finished_at = "
        "(select max(finished_at) from sync_log.builds)"
    )
