"""One message per push to ``ALERT_URLS``: invoices created/updated and payment-status changes.

Which changes: the rows of ``reverse_etl.invoice_status_changes`` (invoices whose Xero status
differs from what HubSpot holds), read by the push *before* it writes. Reading before is the
safe order whatever the model's materialisation: the push updates ``raw_hubspot`` after each
batch, and if the model were a view those rows would vanish from it once written. (As a dbt
table it only changes on the next transform, so reading after would work too — but nothing
forces it to stay a table.) Only changes whose invoice was actually written in this run are
alerted: a rejected record keeps its change in the model and is alerted when a later run
writes it. ``sync_log.alerted_status_changes`` (key: invoice, new status, xero_updated_at)
makes sure the same change is never alerted twice. Changes of records new to HubSpot
(``previous_status`` null) are counted as "created", not listed as changes.

Invoice records in HubSpot no Xero invoice explains (:mod:`reverse_etl.push.unexplained_invoices`)
are counted and listed in every message, and make a message of their own when one appears
that no earlier alert named; the push never writes or deletes them.

Delivery: Apprise, one ``Apprise`` object per target so a failure is reported per target —
as a warning naming the target's scheme only (URLs embed secrets) — and never fails the
sync. Apprise's ``json://`` posts ``{"version", "title", "message", "attachments", "type"}``.
Without ``ALERT_URLS`` the same text goes to the log. Users asked to hear about new invoices
and status changes, so a run that created none and changed no status sends nothing (its
updated count is mentioned when there is a message). A change is marked alerted when it was
delivered to at least one target (or logged when no target is configured). If every target
failed, the change — already written, so it leaves the model — is kept in
``sync_log.undelivered_status_changes`` and included in the next run's message, until one
target takes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from reverse_etl.core.settings import Settings, mask_url
from reverse_etl.core.warehouse import Connection
from reverse_etl.core.warehouse_sql import IN_LIST
from reverse_etl.push.unexplained_invoices import UnexplainedInvoice, mark_alerted

log = logging.getLogger(__name__)

STATUS_CHANGES_TABLE = "reverse_etl.invoice_status_changes"
UNDELIVERED_TABLE = "sync_log.undelivered_status_changes"
_NOT_ALERTED = """
    not exists (
        select 1 from sync_log.alerted_status_changes as a
        where a.xero_invoice_id = c.xero_invoice_id
          and a.new_status = c.new_status
          and a.xero_updated_at is not distinct from cast(c.xero_updated_at as varchar)
    )
"""
MAX_LISTED = 20


@dataclass(frozen=True)
class StatusChange:
    xero_invoice_id: str
    invoice_number: str | None
    contact_name: str | None
    currency_code: str | None
    total: Any
    previous_status: str | None
    new_status: str
    xero_updated_at: str | None
    undelivered: bool = False  # written by an earlier run whose alert reached no target
    company_name: str | None = None  # the matched HubSpot company (customer_matches)

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.xero_invoice_id, self.new_status, self.xero_updated_at)

    def line(self) -> str:
        amount = _amount(self.total)
        money = f"{amount} {self.currency_code}".strip() if amount else ""
        who = self.contact_name or "unknown customer"
        if self.company_name and self.company_name != self.contact_name:
            who += f", HubSpot company {self.company_name}"
        number = self.invoice_number or self.xero_invoice_id
        return (
            f"{number} ({who}, {money}): {self.previous_status} → {self.new_status}"
            if money
            else f"{number} ({who}): {self.previous_status} → {self.new_status}"
        )


@dataclass
class AlertOutcome:
    message_sent: bool = False
    targets_failed: int = 0
    changes_alerted: int = 0


Notify = Callable[[str, str, str], bool]  # (url, title, body) -> delivered


def read_status_changes(con: Connection, schema: str = "reverse_etl") -> list[StatusChange]:
    """Changes not alerted before: the model's, then those an earlier run failed to deliver.
    ``schema``: where the model is (``webhook_reverse_etl`` for the webhook fast path's)."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = 'invoice_status_changes'",
        [schema],
    ).fetchone()
    rows: list[tuple[Any, ...]] = []
    if exists and exists[0]:
        rows = con.execute(
            f"""
            select c.xero_invoice_id, c.invoice_number, c.contact_name, c.currency_code,
                   cast(c.total as varchar), c.previous_status, c.new_status,
                   cast(c.xero_updated_at as varchar)
            from {schema}.invoice_status_changes as c
            where c.new_status is not null and {_NOT_ALERTED}
            order by c.invoice_number, c.xero_invoice_id
            """
        ).fetchall()
    companies = _company_names(con)
    changes = [StatusChange(*row, company_name=companies.get(str(row[0]))) for row in rows]
    seen = {change.key for change in changes}
    undelivered = con.execute(
        f"""
        select c.xero_invoice_id, c.invoice_number, c.contact_name, c.currency_code, c.total,
               c.previous_status, c.new_status, c.xero_updated_at
        from {UNDELIVERED_TABLE} as c
        where {_NOT_ALERTED}
        order by c.recorded_at, c.invoice_number
        """
    ).fetchall()
    for row in undelivered:
        change = StatusChange(*row, undelivered=True, company_name=companies.get(str(row[0])))
        if change.key not in seen:
            seen.add(change.key)
            changes.append(change)
    return changes


def _company_names(con: Connection) -> dict[str, str]:
    """Invoice → the name of its customer's matched HubSpot company (issue 13), when the
    customer models exist (a warehouse transformed before them has none)."""
    needed = ("hubspot_invoices_desired", "customer_matches", "stg_hubspot__companies")
    found = con.execute(
        f"select count(*) from information_schema.tables where table_name {IN_LIST}",
        [list(needed)],
    ).fetchone()
    if not found or found[0] < len(needed):
        return {}
    rows = con.execute(
        "select d.xero_invoice_id, c.company_name "
        "from reverse_etl.hubspot_invoices_desired d "
        "join reverse_etl.customer_matches m on m.contact_id = d.xero_contact_id "
        "join staging.stg_hubspot__companies c on c.hs_company_id = m.hs_company_id "
        "where c.company_name is not null"
    ).fetchall()
    return {str(i): str(n) for i, n in rows}


def compose(
    inserted: int,
    updated: int,
    changes: Sequence[StatusChange],
    unexplained: Sequence[UnexplainedInvoice] = (),
) -> tuple[str, str] | None:
    """(title, body) of the run's message, or None when there is nothing to say. Invoice
    records no Xero invoice explains are counted in every message, and make one themselves
    when one appears that no alert has named yet."""
    listed = [c for c in changes if c.previous_status]
    new_unexplained = [u for u in unexplained if not u.alerted]
    if not inserted and not listed:  # updates alone (amounts, hand edits put back) are routine
        if not new_unexplained:
            return None
        title = f"Xero → HubSpot: {len(unexplained)} invoice record(s) match no Xero invoice"
        return title, "\n".join(_unexplained_lines(unexplained))
    title = f"Xero → HubSpot: {inserted} invoice(s) created, {updated} updated"
    lines = [f"{inserted} invoice(s) created and {updated} updated in HubSpot."]
    if listed:
        lines.append(f"Status changes ({len(listed)}):")
        lines += [f"- {change.line()}" for change in listed[:MAX_LISTED]]
        if len(listed) > MAX_LISTED:
            lines.append(f"… and {len(listed) - MAX_LISTED} more")
    if unexplained:
        lines += _unexplained_lines(unexplained)
    return title, "\n".join(lines)


def _unexplained_lines(unexplained: Sequence[UnexplainedInvoice]) -> list[str]:
    """The records no Xero invoice explains, those not alerted before first."""
    ordered = sorted(unexplained, key=lambda u: u.alerted)
    lines = [
        f"{len(unexplained)} invoice record(s) in HubSpot match no Xero invoice and were left "
        "untouched (reverse_etl.hubspot_unexplained_invoices); delete or correct them in HubSpot:"
    ]
    return lines + _listed([u.line() for u in ordered])


def _listed(items: Sequence[str], more: str = "") -> list[str]:
    """The first :data:`MAX_LISTED` items as ``- item`` lines, then how many more there are."""
    lines = [f"- {item}" for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(f"… and {len(items) - MAX_LISTED} more{more}")
    return lines


def send_push_alerts(
    settings: Settings,
    con: Connection,
    *,
    inserted: int,
    updated: int,
    changes: Iterable[StatusChange],
    written_ids: set[str],
    notify: Notify | None = None,
    unexplained: Sequence[UnexplainedInvoice] = (),
) -> AlertOutcome:
    """Send the run's message; record the changes alerted. Never raises for a bad target."""
    outcome = AlertOutcome()
    alertable = [c for c in changes if c.undelivered or c.xero_invoice_id in written_ids]
    message = compose(inserted, updated, alertable, unexplained)
    if message is None:
        return outcome
    title, body = message
    delivered, outcome.targets_failed = deliver(settings, title, body, notify)
    outcome.message_sent = delivered
    listed = [c for c in alertable if c.previous_status]
    if delivered:
        _mark_alerted(con, listed)
        mark_alerted(con, unexplained)
        outcome.changes_alerted = len(listed)
    else:
        _keep_undelivered(con, [c for c in listed if not c.undelivered])
    return outcome


def deliver(settings: Settings, title: str, body: str, notify: Notify | None) -> tuple[bool, int]:
    """Send one message to every target: (delivered to at least one, targets that failed).
    Without targets the message goes to the log (and counts as delivered)."""
    if not settings.alert_urls:
        log.info("%s\n%s", title, body)
        return True, 0
    delivered, failed = False, 0
    for url in settings.alert_urls:
        try:
            ok = (notify or _apprise_notify)(url, title, body)
        except Exception as exc:  # a broken plugin must not fail the sync
            log.warning("Alert to %s failed: %s", mask_url(url), type(exc).__name__)
            ok = False
        if ok:
            delivered = True
        else:
            failed += 1
            log.warning("Alert to %s was not delivered (the sync is unaffected).", mask_url(url))
    return delivered, failed


def send_quarantine_alert(
    settings: Settings, lines: Sequence[str], notify: Notify | None = None
) -> bool:
    """One message naming records newly quarantined (each line: the record and the fix)."""
    if not lines:
        return False
    title = f"Xero → HubSpot: {len(lines)} record(s) quarantined"
    body = [
        f"{len(lines)} Xero record(s) could not be read and were set aside; the other records "
        "synced. Each is retried when it changes in Xero:"
    ]
    body += _listed(lines, " (see sync_log.quarantine)")
    try:
        return deliver(settings, title, "\n".join(body), notify)[0]
    except Exception as exc:  # alerts never fail the sync
        log.warning("Quarantine alert could not be sent: %s", type(exc).__name__)
        return False


def _keep_undelivered(con: Connection, changes: Sequence[StatusChange]) -> None:
    """Written changes no target took: the next run's message includes them."""
    if not changes:
        return
    log.warning(
        "%d status change(s) could not be alerted to any target; the next run will try again.",
        len(changes),
    )
    con.executemany(
        f"insert into {UNDELIVERED_TABLE} (xero_invoice_id, invoice_number, contact_name, "
        "currency_code, total, previous_status, new_status, xero_updated_at, recorded_at) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, now())",
        [
            [
                c.xero_invoice_id,
                c.invoice_number,
                c.contact_name,
                c.currency_code,
                None if c.total is None else str(c.total),
                c.previous_status,
                c.new_status,
                c.xero_updated_at,
            ]
            for c in changes
        ],
    )


def _mark_alerted(con: Connection, changes: Sequence[StatusChange]) -> None:
    if not changes:
        return
    con.executemany(
        "insert into sync_log.alerted_status_changes "
        "(xero_invoice_id, new_status, xero_updated_at, alerted_at) values (?, ?, ?, now())",
        [[c.xero_invoice_id, c.new_status, c.xero_updated_at] for c in changes],
    )


def _apprise_notify(url: str, title: str, body: str) -> bool:
    import apprise  # here, not at the top: ~1 s to import, needed only when an alert is sent

    # Apprise logs the full target URL (tokens included) at DEBUG: keep it at INFO or above
    # even under `--verbose`, since secrets never go to the log.
    apprise_log = logging.getLogger("apprise")
    if apprise_log.getEffectiveLevel() < logging.INFO:
        apprise_log.setLevel(logging.INFO)
    target = apprise.Apprise()
    if not target.add(url):
        log.warning("ALERT_URLS entry %s is not a valid Apprise URL.", mask_url(url))
        return False
    return bool(target.notify(title=title, body=body))


def _amount(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value)
