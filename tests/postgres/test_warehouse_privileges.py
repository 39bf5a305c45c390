"""`invoice-sync setup` (or the first run) creates the warehouse's schemas on PostgreSQL, and a
role without the rights gets one line naming the missing privilege and its GRANT (issue 22).

A real unprivileged role on the suite's cluster: a login role with a password and nothing else
(PostgreSQL grants ``PUBLIC`` only ``CONNECT`` and ``TEMPORARY`` on a new database; docs,
"Privileges", table "Summary of Access Privileges")."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from typer.testing import CliRunner

from reverse_etl.app.cli import app
from reverse_etl.app.run_environment import run_environment
from reverse_etl.core import sync_log
from reverse_etl.core.errors import WarehouseError
from reverse_etl.core.settings import load_settings
from reverse_etl.core.warehouse import PostgresWarehouse
from reverse_etl.core.warehouse_setup import SCHEMAS, check_server_version, ensure_warehouse

pytestmark = pytest.mark.postgres


class Admin:
    """The cluster's superuser on the test's database."""

    def __init__(self, cluster, database: str) -> None:
        self.con = cluster.connect(database)
        self.con.autocommit = True

    def run(self, sql: str) -> list[tuple]:
        with self.con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture
def weak(postgres_cluster, postgres_warehouse_url: str) -> Iterator[tuple[str, str, Admin]]:
    """(the URL of a role with no privileges, the database's name, the superuser)."""
    role = f"weak_{secrets.token_hex(4)}"
    password = secrets.token_hex(8)
    parsed = urlparse(postgres_warehouse_url)
    database = parsed.path[1:]
    admin = Admin(postgres_cluster, database)
    admin.run(f"create role {role} login password '{password}'")
    url = f"postgresql://{role}:{password}@{parsed.hostname}:{parsed.port}/{database}"
    try:
        yield url, database, admin
    finally:
        admin.run(f"drop owned by {role} cascade")
        admin.con.close()
        owner = Admin(postgres_cluster, postgres_cluster.dbname)
        owner.run(f"drop owned by {role} cascade")
        owner.run(f"drop role if exists {role}")
        owner.con.close()


def test_a_role_without_create_is_told_the_grant(weak) -> None:
    url, database, admin = weak
    role = urlparse(url).username
    with pytest.raises(WarehouseError) as denied:
        ensure_warehouse(PostgresWarehouse(url))
    message = str(denied.value)
    assert f"the role {role} lacks CREATE on database {database}" in message
    assert f"GRANT CREATE ON DATABASE {database} TO {role}" in message
    assert "\n" not in message and urlparse(url).password not in message

    admin.run(f"grant create on database {database} to {role}")
    assert ensure_warehouse(PostgresWarehouse(url)) == list(SCHEMAS)
    present = {r[0] for r in admin.run("select schema_name from information_schema.schemata")}
    assert set(SCHEMAS) <= present
    assert ensure_warehouse(PostgresWarehouse(url)) == []  # idempotent: nothing left to create
    # once the schemas exist, the run log needs no right on the database
    admin.run(f"revoke create on database {database} from {role}")
    with sync_log.open_warehouse(PostgresWarehouse(url)) as con:
        sync_log.start_run(con, "run-1", sync_log.now())
        assert con.execute("select count(*) from sync_log.runs").fetchone() == (1,)


def test_setup_prints_the_missing_privilege(weak, tmp_path: Path, monkeypatch) -> None:
    url, database, _ = weak
    role = urlparse(url).username
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("WAREHOUSE_URL", url)
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    result = CliRunner().invoke(app, ["setup"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert f"WarehouseError: the role {role} lacks CREATE on database {database}" in output
    assert f"GRANT CREATE ON DATABASE {database} TO {role}" in output
    assert "Traceback" not in output


def test_a_schema_the_role_cannot_use_is_named(weak, tmp_path: Path) -> None:
    """An administrator created ``sync_log`` and did not share it: the run stops at its start
    with the schema's GRANT, whichever statement met the refusal."""
    url, database, admin = weak
    role = urlparse(url).username
    admin.run(f"grant create on database {database} to {role}")
    admin.run("create schema sync_log")
    settings = load_settings(
        {"WAREHOUSE_URL": url, "WAREHOUSE_PATH": str(tmp_path / "w.duckdb")}, dotenv_path=None
    )
    with (
        pytest.raises(WarehouseError) as denied,
        run_environment(settings, "sync", sandbox=False),
    ):
        pytest.fail("the run started without the right to its run log")
    assert f"the role {role} lacks USAGE and CREATE on schema sync_log" in str(denied.value)
    assert f"GRANT USAGE, CREATE ON SCHEMA sync_log TO {role}" in str(denied.value)


class _Answers:
    """A connection answering ``server_version_num`` as an older server would."""

    def __init__(self, number: str) -> None:
        self.number = number

    def execute(self, sql, parameters=None):
        assert "server_version_num" in sql
        return self

    def fetchone(self):
        return (self.number,)


def test_a_server_older_than_15_is_refused_in_one_line(postgres_warehouse_url) -> None:
    warehouse = PostgresWarehouse(postgres_warehouse_url)
    with pytest.raises(WarehouseError) as caught:
        check_server_version(_Answers("140011"), warehouse)
    message = str(caught.value)
    assert "version 14" in message and "15 or later" in message and "\n" not in message
    assert urlparse(postgres_warehouse_url).password not in message
    check_server_version(_Answers("150004"), warehouse)  # 15 passes
    real = warehouse.connect()  # and the suite's real server (15) passes too
    try:
        check_server_version(real, warehouse)
    finally:
        real.close()
