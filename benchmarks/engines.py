"""The warehouse engines the benchmarks run on: DuckDB (every benchmark) and PostgreSQL (the
backfill and hourly rows again, issue 22), from one `make bench`.

The PostgreSQL rows are ``backfill-postgres`` and ``hourly-postgres``: the same benchmarks
(:func:`benchmarks.suite_tool.bench_backfill`, :func:`~benchmarks.suite_tool.bench_hourly`),
the same sizes, Xero emulator and stage processes, with ``WAREHOUSE_URL`` in each world's
environment pointing at a fresh database of a throwaway cluster (the tests' own
``start_cluster``, :mod:`tests.fixtures.postgres`: ``initdb`` on a free local port, as the
unprivileged ``postgres`` user when run as root, non-durable settings). The stages then run
the whole pipeline on PostgreSQL through the warehouse seam, so the rows are as real as that
pipeline: when the cluster cannot start (no server binaries) or a run fails, the row is
*skipped* with the reason, and the DuckDB rows and the exit code are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from benchmarks.harness import Harness, error_text
from benchmarks.results import BenchResult

ENGINES = ("duckdb", "postgres")
POSTGRES_SUFFIX = "-postgres"
# benchmark name on PostgreSQL → the DuckDB benchmark it repeats
POSTGRES_NAMES = {"backfill-postgres": "backfill", "hourly-postgres": "hourly"}


class Server(Protocol):
    """A running PostgreSQL server the benchmarks may create databases on."""

    def new_database(self, label: str) -> str:
        """A new empty database; its URL (``WAREHOUSE_URL``)."""
        ...

    def stop(self) -> None: ...


@dataclass
class ThrowawayCluster:
    """The tests' throwaway cluster (:func:`tests.fixtures.postgres.start_cluster`)."""

    started: Any
    count: int = 0

    @classmethod
    def start(cls) -> ThrowawayCluster:
        from tests.fixtures.postgres import INSTALL_HINT, find_bin_dir, start_cluster

        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(
                f"PostgreSQL server binaries (initdb, pg_ctl) not found: {INSTALL_HINT}"
            )
        return cls(start_cluster(bin_dir))

    def new_database(self, label: str) -> str:
        self.count += 1
        name = f"bench_{self.count}"
        admin = self.started.cluster.connect()
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'create database "{name}"')
        finally:
            admin.close()
        return self.started.cluster.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        from tests.fixtures.postgres import stop_cluster

        stop_cluster(self.started)


class PostgresHarness(Harness):
    """``base``'s harness (sizes, code, emulator bookkeeping) whose every world's environment
    names a new database of ``server`` in ``WAREHOUSE_URL``; its own time budget."""

    def __init__(self, base: Harness, server: Server) -> None:
        super().__init__(base.sizes, base.root / "postgres", base.log, base.code_root)
        self._emulators = base._emulators  # stopped with the base harness's
        self.server = server
        self.urls: list[str] = []

    def env(self, xero: Any, hubspot: Any, workdir: Any, **extra: str) -> dict[str, str]:
        url = self.server.new_database(workdir.name)
        self.urls.append(url)
        return super().env(xero, hubspot, workdir, **extra, WAREHOUSE_URL=url)


@dataclass
class PostgresPass:
    """What :func:`bench_on_postgres` needs, injectable for the unit tests."""

    start_server: Callable[[], Server] = ThrowawayCluster.start
    benches: dict[str, Callable[[Harness, Any], Any]] = field(default_factory=dict)


def selected_postgres(selected: Iterable[str]) -> list[str]:
    return [name for name in POSTGRES_NAMES if name in selected]


def engine_filter(names: Iterable[str], engine: str) -> list[str]:
    """``names`` kept for ``--engine``: duckdb (no -postgres rows), postgres (only them), both."""
    names = list(names)
    if engine == "duckdb":
        return [n for n in names if not n.endswith(POSTGRES_SUFFIX)]
    if engine == "postgres":
        return [n for n in names if n.endswith(POSTGRES_SUFFIX)]
    return names


def bench_on_postgres(
    harness: Harness, xero: Any, selected: Iterable[str], setup: PostgresPass | None = None
) -> tuple[BenchResult, ...]:
    """The PostgreSQL rows among ``selected``: each an ok result named ``<bench>-postgres``, or
    skipped with the reason (no server, or the run failed)."""
    from benchmarks.suite_tool import Shared, bench_backfill, bench_hourly

    setup = setup or PostgresPass()
    benches = setup.benches or {"backfill": bench_backfill, "hourly": bench_hourly}
    names = selected_postgres(selected)
    if not names:
        return ()
    try:
        server = setup.start_server()
    except Exception as exc:
        return tuple(_skipped(n, f"no PostgreSQL server: {error_text(exc)}") for n in names)
    results: list[BenchResult] = []
    shared = Shared(xero=xero)
    pg = PostgresHarness(harness, server)
    try:
        for name in names:
            base = POSTGRES_NAMES[name]
            try:
                out = benches[base](pg, shared)
            except Exception as exc:
                results.append(_skipped(name, f"the PostgreSQL run failed: {error_text(exc)}"))
                continue
            found = next(
                (r for r in (out if isinstance(out, tuple) else (out,)) if r.name == base), None
            )
            if found is None:
                results.append(_skipped(name, f"the {base} benchmark returned no {base} row"))
            elif found.status != "ok":
                results.append(_skipped(name, f"the PostgreSQL run {found.status}: {found.reason}"))
            else:
                results.append(on_postgres(found, name))
    finally:
        for world in [shared.synced, *shared.backfilled]:
            if world is not None:
                pg.stop(world.hubspot)
        server.stop()
    return tuple(results)


def on_postgres(result: BenchResult, name: str) -> BenchResult:
    """``result`` renamed as its PostgreSQL row."""
    result.name = name
    result.title = f"{result.title} — PostgreSQL warehouse"
    result.notes.append(
        "Warehouse: PostgreSQL (a throwaway local cluster, fsync off), WAREHOUSE_URL per world."
    )
    return result


def _skipped(name: str, reason: str) -> BenchResult:
    base = POSTGRES_NAMES.get(name, name)
    return BenchResult(name, f"{base} on a PostgreSQL warehouse", status="skipped", reason=reason)
