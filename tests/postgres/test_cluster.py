"""The throwaway PostgreSQL cluster itself (tests/fixtures/postgres.py)."""

from __future__ import annotations

import os

import psycopg2
import pytest

pytestmark = pytest.mark.postgres


def test_cluster_answers_on_loopback_and_is_not_run_by_root(postgres_cluster):
    with postgres_cluster.connect() as con, con.cursor() as cur:
        cur.execute("select current_database(), inet_server_port(), current_setting('TimeZone')")
        assert cur.fetchone() == ("invoices", postgres_cluster.port, "UTC")
        cur.execute("create table t (amount numeric(18, 2))")
        cur.execute("insert into t values (1.10), (2.205)")
        cur.execute("select sum(amount) from t")
        assert str(cur.fetchone()[0]) == "3.31"
    stat = os.stat(postgres_cluster.data_dir)
    assert stat.st_uid != 0  # initdb refuses root: the server runs as an unprivileged user
    assert oct(stat.st_mode & 0o777) in ("0o700", "0o750")


def test_a_wrong_password_is_refused(postgres_cluster):
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(
            host=postgres_cluster.host,
            port=postgres_cluster.port,
            user=postgres_cluster.user,
            password="not-the-password",
            dbname=postgres_cluster.dbname,
        )
