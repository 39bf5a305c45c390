"""Benchmark: associating invoices with their customers' companies and contacts (issue 13).

    python -m benchmarks.suite_associations [--invoices 100000] [--customers 2000]
        [--requests-per-10s 190] [--latency-ms 100]

Starts the HubSpot emulator in its own process (as every other benchmark does, so its CPU
never shares a GIL with the tool measured; HubSpot's rolling limit, numbered paths off,
results shuffled, the latency the other push benchmarks use), runs `setup` through the tool's
client, seeds ``--invoices`` invoice records and ``--customers`` companies and contacts, writes
an action table asking for each invoice's company and contact association plus each company's
balances, then times :func:`reverse_etl.push.customers.push_customers` — the push's real code,
HTTP, limiter, retries and ``max_in_flight`` concurrency. Reports HubSpot calls per invoice and
how close the calls came to the rate ceiling (calls ÷ what the limit allows in the elapsed
time). Writes ``benchmarks/results/associations.json``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.emulators import EmulatorProcess
from reverse_etl.core.settings import load_settings
from reverse_etl.hubspot.client import HubSpot
from reverse_etl.push.customers import push_customers
from reverse_etl.push.schema import ensure_schema

RESULTS = Path(__file__).resolve().parent / "results"
DDL = """
create schema if not exists raw_hubspot;
create schema if not exists reverse_etl;
create table raw_hubspot.invoice_records (hs_object_id varchar, xero_invoice_id varchar,
    archived boolean);
create table raw_hubspot.invoice_associations (association_key varchar,
    invoice_hs_object_id varchar, to_object_type varchar, to_object_id varchar,
    _dlt_load_id varchar, _dlt_id varchar);
create table raw_hubspot.companies (hs_object_id varchar, name varchar, domain varchar,
    xero_contact_id varchar, xero_amount_outstanding varchar, xero_amount_overdue varchar,
    xero_open_invoices varchar, xero_last_payment_date varchar, hs_lastmodifieddate timestamptz,
    archived boolean, _dlt_load_id varchar, _dlt_id varchar);
create table raw_hubspot.company_stamps (hs_company_id varchar, xero_contact_id varchar,
    stamped_at timestamptz, _dlt_load_id varchar, _dlt_id varchar);
"""


def bench_associations(
    invoices: int, customers: int, *, requests_per_10s: int = 190, latency_ms: int = 100
) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmulatorProcess(
            "hubspot",
            "--requests-per-10s",
            str(requests_per_10s),
            "--latency-ms",
            str(latency_ms),
            log_dir=Path(tmp),
        ) as emulator,
    ):
        emulator.control("POST", "/_sandbox/numbered_paths", {"enabled": False})
        emulator.control("POST", "/_sandbox/batch_answers", {"shuffle": True})
        settings = load_settings(
            env={
                "HUBSPOT_BASE_URL": emulator.url,
                "HUBSPOT_REQUESTS_PER_10S": str(requests_per_10s),
                "WAREHOUSE_PATH": str(Path(tmp) / "w.duckdb"),
            },
            dotenv_path=None,
        )
        hub = HubSpot(settings.hubspot)
        object_type = ensure_schema(settings, client=hub).object_type_id
        started = time.perf_counter()
        records = _seed(
            emulator, object_type, [{"xero_invoice_id": f"inv-{n}"} for n in range(invoices)]
        )
        companies = _seed(emulator, "companies", [{"name": f"C{n}"} for n in range(customers)])
        contacts = _seed(
            emulator, "contacts", [{"email": f"p{n}@c{n}.example"} for n in range(customers)]
        )
        seeded = time.perf_counter() - started
        con = duckdb.connect(settings.warehouse_path.as_posix())
        con.execute(DDL)
        _actions(con, records, companies, contacts)
        calls_before, limited_before = hub.calls, hub.rate_limited
        started = time.perf_counter()
        report = push_customers(con, hub, object_type, str(uuid.uuid4()))
        seconds = time.perf_counter() - started
        con.close()
        calls = hub.calls - calls_before
        return {
            "invoices": invoices,
            "customers": customers,
            "associations_created": report.associations_created,
            "companies_updated": report.companies_updated,
            "hubspot_calls": calls,
            "association_calls": report.association_calls,
            "company_calls": report.company_calls,
            "calls_per_invoice": round(calls / invoices, 5),
            "calls_per_1000_invoices": round(1000 * calls / invoices, 2),
            "seconds": round(seconds, 2),
            "invoices_per_second": round(invoices / seconds, 1),
            "rate_limit_per_10s": requests_per_10s,
            "latency_ms": latency_ms,
            "max_in_flight": settings.hubspot.max_in_flight,
            "percent_of_rate_ceiling": round(100 * calls / (requests_per_10s * seconds / 10), 1),
            "seconds_at_the_ceiling": round(calls / requests_per_10s * 10, 1),
            "rate_limited_429": hub.rate_limited - limited_before,
            "seed_seconds": round(seeded, 2),
            "refused": len(report.refused),
        }


def _seed(emulator: EmulatorProcess, object_type: str, rows: list[dict[str, str]]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(rows), 20_000):
        answer = emulator.control(
            "POST",
            "/_sandbox/bench/hubspot/seed",
            {"object": object_type, "rows": rows[start : start + 20_000]},
        )
        ids += answer["ids"]
    return ids


def _actions(
    con: duckdb.DuckDBPyConnection, records: list[str], companies: list[str], contacts: list[str]
) -> None:
    owner = [n % len(companies) for n in range(len(records))]
    con.execute(
        "create table reverse_etl.hubspot_association_actions as select 'CREATE' as action, "
        "x as xero_invoice_id, r as invoice_hs_object_id, t as to_object_type, "
        "o as to_object_id, null::varchar as xero_contact_id, '2' as match_rule "
        "from (select unnest($x) as x, unnest($r) as r, unnest($t) as t, unnest($o) as o)",
        {
            "x": [f"inv-{n}" for n in range(len(records))] * 2,
            "r": records * 2,
            "t": ["companies"] * len(records) + ["contacts"] * len(records),
            "o": [companies[i] for i in owner] + [contacts[i] for i in owner],
        },
    )
    con.execute(
        "create table reverse_etl.hubspot_company_actions as select 'UPDATE' as action, "
        "c as hs_company_id, 'xc-' || c as contact_id, "
        "['xero_contact_id', 'xero_amount_outstanding', 'xero_open_invoices']::varchar[] "
        "as changed_properties, null::varchar as name, null::varchar as domain, "
        "'xc-' || c as xero_contact_id, '1234.56' as xero_amount_outstanding, "
        "'0' as xero_amount_overdue, '3' as xero_open_invoices, "
        "null::varchar as xero_last_payment_date from (select unnest($c) as c)",
        {"c": companies},
    )


def bench_associations_result(invoices: int, requests_per_10s: int, latency_ms: int) -> Any:
    """The benchmark as a :class:`benchmarks.results.BenchResult` for `make bench`."""
    from benchmarks.results import BenchResult

    out = bench_associations(
        invoices,
        max(100, invoices // 50),
        requests_per_10s=requests_per_10s,
        latency_ms=latency_ms,
    )
    result = BenchResult("associations", f"Associating {invoices:,} invoices with customers")
    result.add(
        "calls_per_1000_invoices",
        out["calls_per_1000_invoices"],
        "HubSpot calls per 1,000 invoices",
        "calls",
    )
    result.add("hubspot_calls", out["hubspot_calls"], "HubSpot calls", "calls")
    result.add("seconds", out["seconds"], "push of associations and balances", "s")
    result.add(
        "percent_of_rate_ceiling", out["percent_of_rate_ceiling"], "of the rate ceiling", "%"
    )
    result.details = out
    result.runs = 1
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--requests-per-10s", type=int, default=190)
    parser.add_argument("--latency-ms", type=int, default=100)
    args = parser.parse_args(argv)
    result = bench_associations(
        args.invoices,
        args.customers,
        requests_per_10s=args.requests_per_10s,
        latency_ms=args.latency_ms,
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "associations.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
