"""The schemas a server warehouse needs, created by `invoice-sync setup` or the first run, and
the one-line message for a role that lacks the rights to (issue 22).

On DuckDB the file and its schemas are created by the first run that opens it, as always:
nothing here applies. On PostgreSQL the database exists before the first run (an
administrator created it), and the role in ``WAREHOUSE_URL`` creates in it:

- the schemas dlt loads into (``raw_xero``, ``raw_hubspot`` and dlt's ``*_staging`` datasets
  for merges), the run log's (``sync_log``), and dbt's (``dbt_project/dbt_project.yml``:
  ``staging``, ``intermediate``, ``marts``, ``reverse_etl``, ``seeds``, ``dbt_test_failures``,
  the target's ``main``, and the webhook fast path's ``webhook_reverse_etl``);
- that needs ``CREATE`` on the database (PostgreSQL docs, "CREATE SCHEMA": "a user must have
  the CREATE privilege for the current database"); once the schemas exist and the role owns
  them, no right on the database is used again: the run log's tables are only created when the
  catalogue lacks them (:func:`reverse_etl.core.sync_log.ensure_tables`).

A role without a right gets :class:`~reverse_etl.core.errors.WarehouseError` naming it and the
``GRANT`` that gives it, from whichever layer met PostgreSQL's "permission denied for …"
(SQLSTATE 42501, ``insufficient_privilege``): ours, dlt's or dbt's, which quote the server's
message (:func:`privilege_error`).
"""

from __future__ import annotations

import getpass
import re
from urllib.parse import unquote, urlparse

from reverse_etl.core import build_plan, sync_log
from reverse_etl.core.errors import WarehouseError
from reverse_etl.core.failures import causes
from reverse_etl.core.warehouse import Connection, PostgresWarehouse, Warehouse

SCHEMAS = (
    "raw_xero",
    "raw_xero_staging",
    "raw_hubspot",
    "raw_hubspot_staging",
    "sync_log",
    "main",
    "staging",
    "intermediate",
    "marts",
    "reverse_etl",
    "seeds",
    "dbt_test_failures",
    "webhook_reverse_etl",
)

_DENIED = re.compile(
    r"permission denied for (?P<kind>database|schema|table|relation|view|sequence) "
    r"\"?(?P<name>[\w.$-]+)\"?",
    re.IGNORECASE,
)
_NOT_OWNER = re.compile(r"must be owner of (?:table|relation|schema|view) \"?(?P<name>[\w.$-]+)")


def ensure_warehouse(warehouse: Warehouse) -> list[str]:
    """Create the schemas (and the run log's tables) a server warehouse lacks; the names of
    the schemas created. Nothing on DuckDB (the first run creates the file). Raises
    :class:`WarehouseError` naming the missing privilege."""
    if not isinstance(warehouse, PostgresWarehouse):
        return []
    try:
        con = warehouse.connect()
        try:
            check_server_version(con, warehouse)
            present = {
                str(row[0])
                for row in con.execute(
                    "select schema_name from information_schema.schemata"
                ).fetchall()
            }
            created = [name for name in SCHEMAS if name not in present]
            for name in created:
                con.execute(f'create schema if not exists "{name}"')
            sync_log.ensure_tables(con)  # checked afresh at each run's start
            build_plan.ensure_builds_table(con)
            sync_log.mark_verified(warehouse)
        finally:
            con.close()
    except Exception as exc:
        denied = privilege_error(exc, warehouse)
        if denied is None:
            raise
        raise denied from exc
    return created


MINIMUM_SERVER_VERSION = 150000  # server_version_num of PostgreSQL 15


def check_server_version(con: Connection, warehouse: Warehouse) -> None:
    """Refuse a server older than PostgreSQL 15 in one line: the push upserts the HubSpot
    snapshot with ``MERGE``, new in 15 (PostgreSQL 15 release notes, "Add SQL MERGE
    command"); an older server would fail mid-push with a syntax error instead."""
    (number,) = con.execute("select current_setting('server_version_num')").fetchone()
    if int(number) < MINIMUM_SERVER_VERSION:
        major = int(number) // 10000
        raise WarehouseError(
            f"The PostgreSQL server of {warehouse.label} is version {major}; invoice-sync needs "
            "15 or later (it upserts with MERGE). Upgrade the server, or unset WAREHOUSE_URL "
            "to use the DuckDB file."
        )


def privilege_error(exc: BaseException, warehouse: Warehouse) -> WarehouseError | None:
    """The one-line :class:`WarehouseError` for a "permission denied" anywhere in ``exc``'s
    chain (or its text: dlt and dbt quote the server), naming the privilege and its ``GRANT``;
    ``None`` for any other error or engine."""
    if not isinstance(warehouse, PostgresWarehouse):
        return None
    for link in causes(exc):
        text = str(link)
        match = _DENIED.search(text)
        owner = _NOT_OWNER.search(text) if match is None else None
        if match is None and owner is None:
            continue
        role = role_of(warehouse)
        database = warehouse.database
        if owner is not None:
            what = f"does not own {owner['name']}"
            grant = f"ALTER TABLE {owner['name']} OWNER TO {role}"
        elif match["kind"].lower() == "database":
            what = f"lacks CREATE on database {match['name']}"
            grant = f"GRANT CREATE ON DATABASE {match['name']} TO {role}"
        elif match["kind"].lower() == "schema":
            what = f"lacks USAGE and CREATE on schema {match['name']}"
            grant = f"GRANT USAGE, CREATE ON SCHEMA {match['name']} TO {role}"
        else:
            what = f"lacks rights on {match['kind'].lower()} {match['name']}"
            grant = (
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON {match['name']} TO {role} (in its schema)"
            )
        return WarehouseError(
            f"the role {role} {what} in {warehouse.label}: {grant}; "
            f"then run `invoice-sync setup` (it creates the schemas in {database})."
        )
    return None


def role_of(warehouse: PostgresWarehouse) -> str:
    """The role ``WAREHOUSE_URL`` logs in as (libpq's default: the operating system's user)."""
    user = urlparse(warehouse.url).username
    return unquote(user) if user else getpass.getuser()
