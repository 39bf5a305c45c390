"""The customers part of `invoice-sync push` (issue 13): company balance properties
(``reverse_etl.hubspot_company_actions``) and invoice associations
(``reverse_etl.hubspot_association_actions``), after the invoice upserts of the same run.

Through the one :class:`~reverse_etl.hubspot.HubSpot` client (its limiter, retries and call
count; the calls are counted in the run's ``sync_log.runs.hubspot_calls``):

- companies: ``POST /crm/objects/{V}/companies/batch/update`` (UPDATE, CLEAR; ≤ 100 inputs,
  ``{"id", "properties"}``, a cleared value sent as ``""``) and ``…/batch/create`` (CREATE, only
  with ``HUBSPOT_CREATE_COMPANIES``; never resent blindly after a lost answer:
  :meth:`~reverse_etl.hubspot_customer_calls.HubSpotCustomerCalls.create_companies`);
- associations: ``POST /crm/associations/{V}/{invoiceType}/{companies|contacts}/batch/archive``
  for REMOVE first, then ``…/batch/create`` for CREATE, ≤ :data:`ASSOCIATION_BATCH` inputs, with
  the unlabelled USER_DEFINED type read from ``…/labels`` (one call per target type, only when
  there is something to send).

An empty action table makes no call at all. Association batches go ``max_in_flight`` at a
time (HTTP in worker threads, DuckDB only in the caller's). What HubSpot confirmed is written
back — company values into ``raw_hubspot.companies`` after each batch, every ``xero_contact_id``
written into ``raw_hubspot.company_stamps`` (the tool's stamp log that matching rule 1 reads to
tell a person's value from its own), created/removed associations into
``raw_hubspot.invoice_associations`` once per phase (one statement; also when a call fails) —
so the next transform sees HubSpot's state without a full refresh. A process killed mid-phase
re-sends that phase's associations next run, which HubSpot takes as no change.

Every outcome, written or refused, is a row of ``sync_log.customer_results`` (with HubSpot's
words for a refusal). A per-input error (207: an unknown company, contact or record, a limit)
refuses only that input: the others go through, the run ends ``partial`` and exits 3 with one
line per refusal naming the invoice or company and the fix, and the input stays in the action
table, so the next run retries it. A company or contact HubSpot answers ``OBJECT_NOT_FOUND``
for (deleted or merged away by a person since the snapshot; incremental search never returns
archived records) is marked archived in ``raw_hubspot`` at once, and its associations
forgotten, so the next transform matches the customer again without it instead of refusing the
same write every hour.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any, TypeVar

import duckdb

from pipelines.hubspot_snapshot.customers import COMPANY_FIELDS, association_key
from reverse_etl import sync_log
from reverse_etl.customer_schema import COMPANY_PROPERTY_NAMES, association_type_id
from reverse_etl.errors import HubSpotSchemaError
from reverse_etl.hubspot import HubSpot, HubSpotRequestError
from reverse_etl.hubspot_customer_calls import COMPANIES, CONTACTS, BatchAnswer

log = logging.getLogger(__name__)

MODIFIED = "hs_lastmodifieddate"  # companies' last-modified property, as the snapshot stores it
ASSOCIATION_BATCH = 1_000
COMPANY_BATCH = 100
ASSOCIATION_ACTIONS = "reverse_etl.hubspot_association_actions"
COMPANY_ACTIONS = "reverse_etl.hubspot_company_actions"
SINGULAR = {"companies": "company", "contacts": "contact"}
PHASE_FAILED = "ASSOCIATION_NOT_DEFINED"  # the category of the writes of a phase that could not run
T = TypeVar("T")


@dataclass(slots=True)
class CustomerOutcome:
    """One company or association write and what HubSpot said of it."""

    kind: str  # company | association
    action: str  # UPDATE | CLEAR | CREATE | REMOVE
    outcome: str  # written | refused
    xero_contact_id: str | None = None
    hs_company_id: str | None = None
    xero_invoice_id: str | None = None
    invoice_hs_object_id: str | None = None
    to_object_type: str | None = None
    to_object_id: str | None = None
    category: str | None = None
    message: str | None = None
    invoice_number: str | None = None

    def line(self) -> str:
        """One line: which write, HubSpot's words, and the fix."""
        words = f"{self.category or 'ERROR'}: {(self.message or 'no message').rstrip('. ')}"
        if self.kind == "association":
            invoice = self.invoice_number or self.xero_invoice_id
            target = SINGULAR.get(self.to_object_type or "", self.to_object_type)
            verb = "removing the association of" if self.action == "REMOVE" else "associating"
            what = f"{verb} invoice {invoice} with {target} {self.to_object_id}"
        else:
            target = "company"
            company = f"company {self.hs_company_id}" if self.hs_company_id else "a new company"
            what = f"{self.action.lower()} of {company} for Xero contact {self.xero_contact_id}"
        if self.category == "OBJECT_NOT_FOUND":
            fix = (
                f"if that {target} was deleted or merged in HubSpot, the next run matches the "
                "customer again without it"
            )
        else:
            fix = (
                f"it is retried next run; fix the {target} in HubSpot, or set xero_contact_id "
                "on the right company"
            )
        return f"{what}: {words}; {fix}"


@dataclass
class CustomersPushReport:
    companies_updated: int = 0
    companies_created: int = 0
    associations_created: int = 0
    associations_removed: int = 0
    association_calls: int = 0
    company_calls: int = 0
    refused: list[CustomerOutcome] = field(default_factory=list)
    phase_failures: list[str] = field(default_factory=list)  # a whole phase could not run

    @property
    def rejected(self) -> list[str]:
        """One line per phase that could not run, then one per other refused write (see
        :meth:`CustomerOutcome.line`)."""
        others = [r.line() for r in self.refused if r.category != PHASE_FAILED]
        return self.phase_failures + others

    def summary(self) -> str:
        text = (
            f"Customers: {self.companies_updated} company(ies) updated, "
            f"{self.companies_created} created; {self.associations_created} association(s) "
            f"made, {self.associations_removed} removed ({self.company_calls} company + "
            f"{self.association_calls} association call(s))"
        )
        if self.refused:
            text += f"; {len(self.refused)} refused: " + "; ".join(self.rejected[:5])
        return text + "."

    def as_dict(self) -> dict[str, object]:
        """The customers' part of the ``--json`` run summary."""
        return {
            "companies_updated": self.companies_updated,
            "companies_created": self.companies_created,
            "associations_created": self.associations_created,
            "associations_removed": self.associations_removed,
            "company_calls": self.company_calls,
            "association_calls": self.association_calls,
            "refused": len(self.refused),
        }

    def refused_as_dicts(self) -> list[dict[str, object]]:
        return [
            {
                "kind": r.kind,
                "action": r.action,
                "xero_contact_id": r.xero_contact_id,
                "hs_company_id": r.hs_company_id,
                "xero_invoice_id": r.xero_invoice_id,
                "invoice_number": r.invoice_number,
                "to_object_type": r.to_object_type,
                "to_object_id": r.to_object_id,
                "category": r.category,
                "message": r.message,
            }
            for r in self.refused
        ]


def push_customers(
    con: duckdb.DuckDBPyConnection, hub: HubSpot, object_type: str, run_id: str
) -> CustomersPushReport:
    report = CustomersPushReport()
    companies = _read(con, COMPANY_ACTIONS)
    associations = _read(con, ASSOCIATION_ACTIONS)
    if not companies and not associations:
        return report
    sync_log.ensure_tables(con)  # sync_log.customer_results (benchmarks call this directly)
    if companies:
        created = _push_companies(con, hub, companies, report, run_id)
        # the action table was computed before these companies existed: attach their
        # customers' invoices now rather than an hour later
        associations += _associate_created(con, created)
    if associations:
        _push_associations(con, hub, object_type, associations, report, run_id)
    log.info(report.summary())
    return report


def _read(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    try:
        cursor = con.execute(f"select * from {table}")
    except duckdb.CatalogException:  # transform has not built it yet (older warehouse)
        return []
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


# -- companies ---------------------------------------------------------------------------


def _push_companies(
    con: duckdb.DuckDBPyConnection,
    hub: HubSpot,
    actions: list[dict[str, Any]],
    report: CustomersPushReport,
    run_id: str,
) -> dict[str, str]:
    """Write the company actions; returns the companies created, by Xero ContactID."""
    updates = [a for a in actions if a["action"] in ("UPDATE", "CLEAR") and a["hs_company_id"]]
    creates = [a for a in actions if a["action"] == "CREATE"]
    created: dict[str, str] = {}
    for batch in _chunks(updates, COMPANY_BATCH):
        inputs = [
            {"id": str(a["hs_company_id"]), "properties": _properties(a, blank_as_empty=True)}
            for a in batch
        ]
        answer = hub.objects_batch(COMPANIES, "update", inputs)
        report.company_calls += 1
        written = {str(r["id"]) for r in answer.results if r.get("id")}
        report.companies_updated += len(written)
        sent = {str(i["id"]): i["properties"] for i in inputs}
        stamps = {str(r["id"]): r.get("updatedAt") for r in answer.results if r.get("id")}
        _write_back_companies(
            con, [(i, {**sent.get(i, {}), MODIFIED: stamps[i]}) for i in sorted(written)], run_id
        )
        outcomes = []
        for action in batch:
            company_id = str(action["hs_company_id"])
            error = None if company_id in written else _error_naming(answer, company_id)
            outcomes.append(_company_outcome(action, company_id, error))
        _mark_gone(con, COMPANIES, _not_found(answer, set(sent) - written))
        _record(con, run_id, outcomes, report)
    for batch in _chunks(creates, COMPANY_BATCH):
        inputs = [{"properties": _properties(a, blank_as_empty=False)} for a in batch]
        answer = hub.create_companies(inputs, key="xero_contact_id")
        report.company_calls += 1
        rows = []
        for result in answer.results:
            props = {
                k: v for k, v in (result.get("properties") or {}).items() if k in COMPANY_FIELDS
            }
            rows.append((str(result["id"]), {**props, MODIFIED: result.get("updatedAt")}))
        report.companies_created += len(rows)
        _write_back_companies(con, rows, run_id)
        # results come in any order: find each action's company by the stamp it was sent
        by_stamp = {props.get("xero_contact_id"): company_id for company_id, props in rows}
        outcomes = []
        for action in batch:
            company_id = by_stamp.get(action.get("xero_contact_id"))
            error = None if company_id else _error_naming(answer, None)
            outcomes.append(_company_outcome(action, company_id, error))
            if company_id:
                created[str(action["xero_contact_id"])] = company_id
        _record(con, run_id, outcomes, report)
    return created


def _associate_created(
    con: duckdb.DuckDBPyConnection, created: dict[str, str]
) -> list[dict[str, Any]]:
    """Association CREATE actions from each mirrored invoice of a customer to the company just
    created for it (its contact, if any, is matched on the next run)."""
    if not created:
        return []
    try:
        rows = con.execute(
            "select xero_invoice_id, xero_contact_id from reverse_etl.hubspot_invoices_desired "
            "where xero_contact_id in (select unnest(?)) order by xero_invoice_id",
            [sorted(created)],
        ).fetchall()
    except duckdb.CatalogException:  # no transform yet
        return []
    return [
        {
            "action": "CREATE",
            "xero_invoice_id": invoice_id,
            "invoice_hs_object_id": None,
            "to_object_type": COMPANIES,
            "to_object_id": created[contact_id],
            "xero_contact_id": contact_id,
            "match_rule": "created",
        }
        for invoice_id, contact_id in rows
    ]


def _company_outcome(
    action: dict[str, Any], company_id: str | None, error: dict[str, Any] | None
) -> CustomerOutcome:
    return CustomerOutcome(
        kind="company",
        action=str(action["action"]),
        outcome="refused" if error is not None else "written",
        xero_contact_id=action.get("contact_id") or action.get("xero_contact_id"),
        hs_company_id=company_id,
        category=error.get("category") if error else None,
        message=error.get("message") if error else None,
    )


def _properties(action: dict[str, Any], *, blank_as_empty: bool) -> dict[str, str]:
    names = list(action.get("changed_properties") or [])
    out = {}
    for name in names:
        value = action.get(name)
        if value is None:
            if blank_as_empty:
                out[name] = ""  # HubSpot clears a property given an empty string
            continue
        out[name] = str(value)
    return out


def _write_back_companies(
    con: duckdb.DuckDBPyConnection, rows: list[tuple[str, dict[str, str]]], run_id: str
) -> None:
    """Merge what HubSpot confirmed into ``raw_hubspot.companies`` (set statements, not a
    statement per company), with the answer's ``updatedAt`` as ``hs_lastmodifieddate`` so the
    next snapshot recognises these versions as its own echoes (counted, not read:
    :mod:`pipelines.hubspot_snapshot.changes`); log every stamp in
    ``raw_hubspot.company_stamps``."""
    if not rows:
        return
    load = f"push:{run_id}"
    by_id = {
        company_id: {
            k: (v or None)
            for k, v in props.items()
            if k in COMPANY_FIELDS or (k == MODIFIED and v)  # no stamp: keep the one we hold
        }
        for company_id, props in rows
    }
    existing = {
        str(r[0])
        for r in con.execute(
            "select hs_object_id from raw_hubspot.companies where hs_object_id in "
            "(select unnest(?))",
            [list(by_id)],
        ).fetchall()
    }
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for company_id, values in by_id.items():
        if company_id in existing and values:
            groups[tuple(sorted(values))].append(company_id)
    for names, ids in groups.items():
        params: dict[str, Any] = {"id": ids}
        params.update({f"v{i}": [by_id[c][n] for c in ids] for i, n in enumerate(names)})
        columns = ", ".join(f"{_typed(f'unnest($v{i})', n)} as {n}" for i, n in enumerate(names))
        sets = ", ".join(f"{n} = s.{n}" for n in names)
        con.execute(
            f"update raw_hubspot.companies set {sets} from (select unnest($id) as id, "
            f"{columns}) as s where raw_hubspot.companies.hs_object_id = s.id",
            params,
        )
    new = [company_id for company_id in by_id if company_id not in existing]
    if new:
        params = {"id": new, "load": load}
        params.update({n: [by_id[c].get(n) for c in new] for n in (*COMPANY_FIELDS, MODIFIED)})
        con.execute(
            f"insert into raw_hubspot.companies (hs_object_id, {', '.join(COMPANY_FIELDS)}, "
            f"{MODIFIED}, archived, _dlt_load_id, _dlt_id) select unnest($id), "
            + ", ".join(f"unnest(${n})" for n in COMPANY_FIELDS)
            + f", {_typed(f'unnest(${MODIFIED})', MODIFIED)}, false, $load, uuid()::varchar",
            params,
        )
    stamped = [(c, props["xero_contact_id"]) for c, props in rows if "xero_contact_id" in props]
    if stamped:
        con.execute(
            "insert into raw_hubspot.company_stamps (hs_company_id, xero_contact_id, "
            "stamped_at, _dlt_load_id, _dlt_id) select unnest($c), unnest($x), $at, $load, "
            "uuid()::varchar",
            {
                "c": [c for c, _ in stamped],
                "x": [x for _, x in stamped],
                "at": sync_log.now(),
                "load": load,
            },
        )


def _typed(expression: str, column: str) -> str:
    """``hs_lastmodifieddate`` arrives as HubSpot's ISO text; the snapshot column is a
    timestamptz."""
    return f"cast({expression} as timestamptz)" if column == MODIFIED else expression


# -- associations --------------------------------------------------------------------------


def _push_associations(
    con: duckdb.DuckDBPyConnection,
    hub: HubSpot,
    object_type: str,
    actions: list[dict[str, Any]],
    report: CustomersPushReport,
    run_id: str,
) -> None:
    missing = sorted({a["xero_invoice_id"] for a in actions if not a["invoice_hs_object_id"]})
    ids = _record_ids(con, missing)
    by_target: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for action in actions:
        record_id = action["invoice_hs_object_id"] or ids.get(action["xero_invoice_id"])
        if not record_id:
            continue  # its record was not written (rejected): next run
        action = {**action, "record_id": str(record_id), "to_id": str(action["to_object_id"])}
        by_target[(action["action"], action["to_object_type"])].append(action)
    for (verb, to_type), batch_actions in sorted(
        by_target.items(), key=lambda kv: kv[0][0] != "REMOVE"
    ):
        if verb == "REMOVE":
            _remove(con, hub, object_type, to_type, batch_actions, report, run_id)
        else:
            _create(con, hub, object_type, to_type, batch_actions, report, run_id)


def _remove(
    con: duckdb.DuckDBPyConnection,
    hub: HubSpot,
    object_type: str,
    to_type: str,
    actions: list[dict[str, Any]],
    report: CustomersPushReport,
    run_id: str,
) -> None:
    actions = _without_archived_targets(con, to_type, actions)
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for action in actions:
        grouped[action["record_id"]].append(action)

    def send(batch: list[tuple[str, list[dict[str, Any]]]]) -> Callable[[], BatchAnswer]:
        inputs = [
            {"from": {"id": r}, "to": [{"id": a["to_id"]} for a in group]} for r, group in batch
        ]
        return lambda: hub.associations_archive(object_type, to_type, inputs)

    batches = list(_chunks(list(grouped.items()), ASSOCIATION_BATCH))
    done: list[tuple[str, str]] = []
    outcomes: list[CustomerOutcome] = []
    try:
        for batch, answer in _in_flight(hub, [(b, send(b)) for b in batches]):
            report.association_calls += 1
            refused = _named_ids(answer)
            for record_id, group in batch:
                error = _error_naming(answer, record_id) if record_id in refused else None
                for action in group:
                    outcomes.append(_association_outcome(action, error))
                    if error is None:
                        done.append((record_id, action["to_id"]))
    finally:  # what HubSpot confirmed is kept even when a later call fails
        report.associations_removed += len(done)
        _forget_associations(con, to_type, done)
        _record(con, run_id, outcomes, report)


def _create(
    con: duckdb.DuckDBPyConnection,
    hub: HubSpot,
    object_type: str,
    to_type: str,
    actions: list[dict[str, Any]],
    report: CustomersPushReport,
    run_id: str,
) -> None:
    try:
        type_id = association_type_id(hub, object_type, to_type)
    except (HubSpotRequestError, HubSpotSchemaError) as exc:
        if isinstance(exc, HubSpotRequestError) and exc.status != 404:
            raise
        _labels_missing(con, object_type, to_type, actions, report, run_id)
        return
    report.association_calls += 1
    types = [{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}]

    def send(batch: list[dict[str, Any]]) -> Callable[[], BatchAnswer]:
        inputs = [
            {"from": {"id": a["record_id"]}, "to": {"id": a["to_id"]}, "types": types}
            for a in batch
        ]
        return lambda: hub.associations_create(object_type, to_type, inputs)

    batches = list(_chunks(actions, ASSOCIATION_BATCH))
    made: list[tuple[str, str]] = []
    outcomes: list[CustomerOutcome] = []
    gone: set[str] = set()
    try:
        for batch, answer in _in_flight(hub, [(b, send(b)) for b in batches]):
            report.association_calls += 1
            landed = {(str(x["fromObjectId"]), str(x["toObjectId"])) for x in answer.results}
            made += sorted(landed)
            for action in batch:
                pair = (action["record_id"], action["to_id"])
                error = None
                if pair not in landed:
                    error = _error_naming(answer, action["to_id"], action["record_id"])
                    named = _ids_of(error)
                    not_found = error.get("category") == "OBJECT_NOT_FOUND"
                    if not_found and pair[1] in named and pair[0] not in named:
                        gone.add(pair[1])
                outcomes.append(_association_outcome(action, error))
    finally:  # written back once per phase (one statement, not one per batch), even on failure
        report.associations_created += len(made)
        _remember_associations(con, to_type, made, run_id)
        _mark_gone(con, to_type, gone)
        _record(con, run_id, outcomes, report)


def _labels_missing(
    con: duckdb.DuckDBPyConnection,
    object_type: str,
    to_type: str,
    actions: list[dict[str, Any]],
    report: CustomersPushReport,
    run_id: str,
) -> None:
    """HubSpot has no association type from the invoice object to ``to_type`` (its labels
    read answers 404, or lists no unlabelled type): this phase cannot run, the invoices already
    written stay written, and the run ends partial (exit 3) with one line naming the fix. Each
    action is recorded refused, so the next run, after setup, makes them."""
    message = f"HubSpot has no association type between {object_type} and {to_type}"
    report.phase_failures.append(
        f"associating {len(actions)} invoice(s) with {to_type}: {message} (its labels read "
        "failed); run `invoice-sync setup` to define the association, and the next run makes "
        "them"
    )
    error = {"category": PHASE_FAILED, "message": message}
    outcomes = [_association_outcome(action, error) for action in actions]
    log.warning("HubSpot: %s", report.phase_failures[-1])
    _record(con, run_id, outcomes, report, logged=True)


def _in_flight(
    hub: HubSpot, jobs: list[tuple[T, Callable[[], BatchAnswer]]]
) -> Iterator[tuple[T, BatchAnswer]]:
    """Send the batches ``max_in_flight`` at a time (HTTP only, in worker threads, through the
    one client and its limiter, as the invoice push does) and hand each answer back to the
    caller's thread, which alone writes DuckDB. A failed call stops further sends; the answers
    already in are still handed back, then the error is raised."""
    workers = max(1, min(hub.settings.max_in_flight, len(jobs)))
    if workers == 1:
        for key, job in jobs:
            yield key, job()
        return
    fatal: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hubspot-customers") as pool:
        queue = iter(jobs)
        pending: dict[Future[BatchAnswer], T] = {}
        while True:
            while fatal is None and len(pending) < workers:
                item = next(queue, None)
                if item is None:
                    break
                pending[pool.submit(item[1])] = item[0]
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                key = pending.pop(future)
                try:
                    answer = future.result()
                except BaseException as exc:  # stop sending; still record what landed
                    fatal = fatal or exc
                    continue
                yield key, answer
    if fatal is not None:
        raise fatal


def _association_outcome(action: dict[str, Any], error: dict[str, Any] | None) -> CustomerOutcome:
    return CustomerOutcome(
        kind="association",
        action=str(action["action"]),
        outcome="refused" if error is not None else "written",
        xero_contact_id=action.get("xero_contact_id"),
        xero_invoice_id=action.get("xero_invoice_id"),
        invoice_hs_object_id=action["record_id"],
        to_object_type=action.get("to_object_type"),
        to_object_id=action["to_id"],
        category=error.get("category") if error else None,
        message=error.get("message") if error else None,
    )


def _record_ids(con: duckdb.DuckDBPyConnection, xero_ids: Sequence[str]) -> dict[str, str]:
    """The HubSpot ids of invoice records this push has just created (written back)."""
    if not xero_ids:
        return {}
    rows = con.execute(
        "select xero_invoice_id, hs_object_id from raw_hubspot.invoice_records "
        "where xero_invoice_id in (select unnest(?)) and not coalesce(archived, false)",
        [list(xero_ids)],
    ).fetchall()
    return {str(x): str(h) for x, h in rows}


def _remember_associations(
    con: duckdb.DuckDBPyConnection, to_type: str, pairs: list[tuple[str, str]], run_id: str
) -> None:
    if not pairs:
        return
    keys = [association_key(r, to_type, t) for r, t in pairs]
    con.execute(
        "delete from raw_hubspot.invoice_associations where association_key in (select unnest(?))",
        [keys],
    )
    con.execute(
        "insert into raw_hubspot.invoice_associations (association_key, invoice_hs_object_id, "
        "to_object_type, to_object_id, _dlt_load_id, _dlt_id) select unnest($k), unnest($r), "
        "$type, unnest($t), $load, uuid()::varchar",
        {
            "k": keys,
            "r": [r for r, _ in pairs],
            "t": [t for _, t in pairs],
            "type": to_type,
            "load": f"push:{run_id}",
        },
    )


def _without_archived_targets(
    con: duckdb.DuckDBPyConnection, to_type: str, actions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The REMOVE actions still worth a call. An association to a company or contact the
    snapshot holds as archived (deleted, or merged away: HubSpot moves a merged record's
    associations to the record the merge made — changelog "Updated merge functionality for
    contacts and companies") no longer exists in HubSpot: it is forgotten here, not sent."""
    if not actions or to_type not in (COMPANIES, CONTACTS):
        return actions
    archived = {
        str(r[0])
        for r in con.execute(
            f"select hs_object_id from raw_hubspot.{to_type} where coalesce(archived, false) "
            "and hs_object_id in (select unnest(?))",
            [sorted({a["to_id"] for a in actions})],
        ).fetchall()
    }
    gone = [(a["record_id"], a["to_id"]) for a in actions if a["to_id"] in archived]
    if gone:
        log.info(
            "%d association(s) to archived %s forgotten without a call (HubSpot dropped or moved "
            "them with the record).",
            len(gone),
            to_type,
        )
        _forget_associations(con, to_type, gone)
    return [a for a in actions if a["to_id"] not in archived]


def _forget_associations(
    con: duckdb.DuckDBPyConnection, to_type: str, pairs: list[tuple[str, str]]
) -> None:
    if pairs:
        con.execute(
            "delete from raw_hubspot.invoice_associations where association_key in "
            "(select unnest(?))",
            [[association_key(r, to_type, t) for r, t in pairs]],
        )


# -- outcomes ------------------------------------------------------------------------------


def _ids_of(error: dict[str, Any]) -> set[str]:
    context = error.get("context") or {}
    if not isinstance(context, dict):
        return set()
    return {str(i) for values in context.values() if isinstance(values, list) for i in values}


def _named_ids(answer: BatchAnswer) -> set[str]:
    return {i for error in answer.errors for i in _ids_of(error)}


def _error_naming(answer: BatchAnswer, *ids: str | None) -> dict[str, Any]:
    """HubSpot's error for an input that got no result: the one whose context names one of
    ``ids`` (in that order of preference), else all the batch's messages together (HubSpot
    does not always say which input an error is about)."""
    for wanted in ids:
        for error in answer.errors:
            if wanted is not None and wanted in _ids_of(error):
                return error
    if len(answer.errors) == 1:
        return answer.errors[0]
    messages = "; ".join(str(e.get("message")) for e in answer.errors)
    return {
        "category": "UNATTRIBUTED" if answer.errors else "NO_RESULT",
        "message": messages or "HubSpot returned no result for it and no error",
    }


def _not_found(answer: BatchAnswer, candidates: set[str]) -> set[str]:
    """Of ``candidates``, the ids an ``OBJECT_NOT_FOUND`` error names."""
    return {
        i
        for error in answer.errors
        if error.get("category") == "OBJECT_NOT_FOUND"
        for i in _ids_of(error)
        if i in candidates
    }


def _mark_gone(con: duckdb.DuckDBPyConnection, to_type: str, ids: set[str]) -> None:
    """HubSpot no longer has these companies or contacts: archive them in the snapshot and drop
    their associations (HubSpot drops a deleted record's associations), so the next transform
    matches their customers again."""
    if not ids or to_type not in (COMPANIES, CONTACTS):
        return
    for company_or_contact in sorted(ids):
        log.warning(
            "HubSpot has no %s %s any more (deleted or merged): the next run matches its "
            "customer again",
            SINGULAR[to_type],
            company_or_contact,
        )
    con.execute(
        f"update raw_hubspot.{to_type} set archived = true where hs_object_id in "
        "(select unnest(?))",
        [sorted(ids)],
    )
    con.execute(
        "delete from raw_hubspot.invoice_associations where to_object_type = ? and "
        "to_object_id in (select unnest(?))",
        [to_type, sorted(ids)],
    )


def _record(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    outcomes: list[CustomerOutcome],
    report: CustomersPushReport,
    *,
    logged: bool = False,
) -> None:
    """Append every outcome to ``sync_log.customer_results``; name each refusal in the log
    (unless the caller already logged them as one)."""
    if not outcomes:
        return
    refused = [o for o in outcomes if o.outcome == "refused"]
    if refused:
        numbers = _invoice_numbers(con, [o.xero_invoice_id for o in refused if o.xero_invoice_id])
        refused = [replace(o, invoice_number=numbers.get(o.xero_invoice_id or "")) for o in refused]
        for outcome in refused if not logged else ():
            log.warning("HubSpot refused %s", outcome.line())
        report.refused.extend(refused)
    fields = (
        "kind",
        "action",
        "outcome",
        "xero_contact_id",
        "hs_company_id",
        "xero_invoice_id",
        "invoice_hs_object_id",
        "to_object_type",
        "to_object_id",
        "category",
        "message",
    )
    rows = list(map(attrgetter(*fields), outcomes))
    columns = {name: [row[i] for row in rows] for i, name in enumerate(fields)}
    con.execute(
        "insert into sync_log.customer_results (run_id, kind, action, outcome, xero_contact_id, "
        "hs_company_id, xero_invoice_id, invoice_hs_object_id, to_object_type, to_object_id, "
        "error_category, error_message, recorded_at) select $run, unnest($kind), "
        "unnest($action), unnest($outcome), unnest($xero_contact_id), unnest($hs_company_id), "
        "unnest($xero_invoice_id), unnest($invoice_hs_object_id), unnest($to_object_type), "
        "unnest($to_object_id), unnest($category), unnest($message), $at",
        {"run": run_id, "at": sync_log.now(), **columns},
    )


def _invoice_numbers(con: duckdb.DuckDBPyConnection, xero_ids: list[str]) -> dict[str, str]:
    if not xero_ids:
        return {}
    try:
        rows = con.execute(
            "select xero_invoice_id, invoice_number from reverse_etl.hubspot_invoices_desired "
            "where xero_invoice_id in (select unnest(?))",
            [xero_ids],
        ).fetchall()
    except duckdb.Error:  # no transform yet (benchmarks, older warehouses)
        return {}
    return {str(x): str(n) for x, n in rows if n}


# -- helpers -------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


__all__ = ["COMPANY_PROPERTY_NAMES", "CustomerOutcome", "CustomersPushReport", "push_customers"]
