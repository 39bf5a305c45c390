"""Unit tests: Xero dates and payload parsing, the client-side rate limiter, the token file."""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from pipelines.cursor import VersionTracker, window_start
from pipelines.xero.dates import XeroDateError, if_modified_since_header, parse_date, parse_datetime
from pipelines.xero.limiter import CallCounts, RateLimiter
from pipelines.xero.records import parse_invoice
from pipelines.xero.tokens import read_token_file, write_token_file
from reverse_etl.core.errors import RecordParseError, XeroRateLimitError


def test_ms_dates() -> None:
    assert parse_datetime("/Date(1518685950940+0000)/") == datetime(
        2018, 2, 15, 9, 12, 30, 940_000, tzinfo=UTC
    )
    assert parse_datetime("/Date(1573755038314)/") == datetime(
        2019, 11, 14, 18, 10, 38, 314_000, tzinfo=UTC
    )
    assert parse_date("/Date(1539993600000+0000)/") == date(2018, 10, 20)
    assert parse_date("/Date(1539993600000+1300)/") == date(2018, 10, 20)
    assert parse_date("/Date(1539950400000+1300)/") == date(2018, 10, 20)  # 07:00 UTC-13h
    assert parse_date("2018-10-20T00:00:00") == date(2018, 10, 20)
    assert parse_datetime(None) is None
    for bad in ("/Date(abc)/", "yesterday", 12):
        with pytest.raises(XeroDateError):
            parse_datetime(bad)
    moment = datetime(2024, 6, 3, 10, 0, 0, 700_000, tzinfo=UTC)
    assert if_modified_since_header(moment) == "2024-06-03T10:00:00"


def _payload(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "Type": "ACCREC",
        "InvoiceID": "6f3c8c5e-1111-4222-8333-944444444444",
        "InvoiceNumber": "INV-0001",
        "Contact": {"ContactID": "c-1", "Name": "Müller GmbH"},
        "Date": "/Date(1717372800000+0000)/",
        "DueDate": "/Date(1719964800000+0000)/",
        "Status": "AUTHORISED",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "LineItemID": "l-1",
                "Description": "x",
                "Quantity": Decimal("1.5"),
                "UnitAmount": Decimal("0.1"),
                "LineAmount": Decimal("0.15"),
            }
        ],
        "SubTotal": Decimal("0.15"),
        "TotalTax": 0,
        "Total": Decimal("0.15"),
        "AmountDue": Decimal("0.15"),
        "CurrencyCode": "EUR",
        "CurrencyRate": Decimal("1.234567891"),
        "UpdatedDateUTC": "/Date(1717408800123+0000)/",
        "IsDiscounted": False,
    }
    body.update(overrides)
    return body


def test_parse_invoice_maps_contract_columns_exactly() -> None:
    row = parse_invoice(_payload(), "tenant-1")
    assert row["invoice_type"] == "ACCREC" and row["contact_id"] == "c-1"
    assert row["contact_name"] == "Müller GmbH" and row["tenant_id"] == "tenant-1"
    assert row["invoice_date"] == date(2024, 6, 3) and row["fully_paid_on_date"] is None
    assert row["total_tax"] == Decimal(0) and isinstance(row["total_tax"], Decimal)
    assert row["currency_rate"] == Decimal("1.234567891")
    assert row["updated_date_utc"] == datetime(2024, 6, 3, 10, 0, 0, 123_000, tzinfo=UTC)
    assert row["line_items"][0]["unit_amount"] == Decimal("0.1")


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"Total": "12,50"}, "Total"),
        ({"Total": 1.5}, "Total"),  # a float means the JSON was not parsed with Decimal
        ({"DueDate": "/Date(x)/"}, "DueDate"),
        ({"UpdatedDateUTC": None}, "UpdatedDateUTC"),
        ({"IsDiscounted": "maybe"}, "IsDiscounted"),
        ({"LineItems": [{"Quantity": "lots"}]}, "LineItems[0].Quantity"),
    ],
)
def test_parse_errors_name_invoice_and_field(override: dict[str, object], field: str) -> None:
    with pytest.raises(RecordParseError) as error:
        parse_invoice(_payload(**override), "tenant-1")
    assert "6f3c8c5e-1111-4222-8333-944444444444" in str(error.value)
    assert f"field {field}:" in str(error.value)
    assert error.value.field == field  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("override", "field", "says"),
    [
        ({"Status": "ON_HOLD"}, "Status", "not a Xero invoice Status"),
        ({"Status": None}, "Status", "missing"),
        ({"Type": "ACCRECCREDIT"}, "Type", "not a Xero invoice Type"),
        ({"LineAmountTypes": "Gross"}, "LineAmountTypes", "not a Xero invoice"),
        ({"Total": 10**29}, "Total", "too large"),
        ({"Total": Decimal("-1E+29")}, "Total", "too large"),
        ({"SubTotal": Decimal("0.1234567891")}, "SubTotal", "more than 9 decimal places"),
        ({"CurrencyRate": Decimal("1E-10")}, "CurrencyRate", "more than 9 decimal places"),
        ({"Date": "/Date(99999999999999999+0000)/"}, "Date", "accepted date range"),
        ({"DueDate": "/Date(-99999999999999999)/"}, "DueDate", "accepted date range"),
        ({"DueDate": "9999-12-31T23:00:00-05:00"}, "DueDate", "accepted date range"),
        ({"UpdatedDateUTC": "/Date(253402300800000+0000)/"}, "UpdatedDateUTC", "date range"),
    ],
)
def test_values_the_warehouse_would_refuse_or_round_are_refused_by_name(
    override: dict[str, object], field: str, says: str
) -> None:
    """Refused here, naming the invoice, so it is quarantined instead of failing a load or a
    dbt test for every record (issue 10 items 2, 3, 6, 10)."""
    with pytest.raises(RecordParseError) as error:
        parse_invoice(_payload(**override), "tenant-1")
    message = str(error.value)
    assert "INV-0001" in message and "6f3c8c5e-1111-4222-8333-944444444444" in message
    assert f"field {field}:" in message and says in message and "Fix:" in message
    assert error.value.field == field and error.value.fix


def test_exact_values_at_the_edges_are_kept() -> None:
    row = parse_invoice(
        _payload(
            Total=Decimal("99999999999999999999999999999.999999999"),
            AmountDue=Decimal("99999999999999999999999999999.999999999"),
            SubTotal=Decimal("0.1500000000000"),  # trailing zeros: exact, nothing rounded
            LineAmountTypes=None,
            DueDate="2999-12-31T00:00:00",
            Date="1900-01-01T00:00:00",
        ),
        "tenant-1",
    )
    assert row["total"] == Decimal("99999999999999999999999999999.999999999")
    assert row["sub_total"] == Decimal("0.15")
    assert row["due_date"] == date(2999, 12, 31) and row["invoice_date"] == date(1900, 1, 1)


def test_rate_limiter_keeps_under_the_limit_and_obeys_headers() -> None:
    now = [1000.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, lambda: now[0], sleep, CallCounts())
    for _ in range(3):
        limiter.acquire("t1")
        now[0] += 1
    limiter.acquire("t1")
    assert waits == [57.0]  # the oldest call leaves the rolling minute
    limiter.acquire("t2")  # another organisation has its own budget
    assert waits == [57.0]
    limiter.observe("t2", {"X-MinLimit-Remaining": "0"})
    limiter.acquire("t2")
    assert waits[-1] == 60.0
    limiter.observe("t2", {"X-DayLimit-Remaining": "0"})
    with pytest.raises(XeroRateLimitError, match="daily"):
        limiter.acquire("t2")


def test_token_file_is_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "xero_token.json"
    write_token_file(path, "rt-1", "seed")
    write_token_file(path, "rt-2", "seed")
    assert json.loads(path.read_text())["refresh_token"] == "rt-2"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["xero_token.json"]  # no temp left
    assert read_token_file(tmp_path / "absent.json") is None


def test_version_tracker_overlap_and_ceiling() -> None:
    t = datetime(2024, 6, 3, 10, 0, 0, 700_000, tzinfo=UTC)
    assert window_start(t, timedelta(seconds=1)) == datetime(2024, 6, 3, 9, 59, 59, tzinfo=UTC)
    tracker = VersionTracker(known={("a", "2024-06-03T10:00:00.200000+00:00")})
    assert not tracker.is_new("a", datetime(2024, 6, 3, 10, 0, 0, 200_000, tzinfo=UTC))
    assert tracker.is_new("b", t) and not tracker.is_new("b", t)
    tracker.observe_ceiling(datetime(2024, 6, 3, 10, 0, 0, 500_000, tzinfo=UTC))
    assert tracker.next_cursor(None) == datetime(2024, 6, 3, 10, 0, 0, 500_000, tzinfo=UTC)
    assert tracker.next_cursor(t + timedelta(hours=1)) == t + timedelta(hours=1)


class _StubSession:
    """Answers ``GET /Invoices`` from a list of invoices like a server that sends no
    ``pagination`` object and may ignore ``pageSize`` (Xero's default page is 100)."""

    def __init__(self, total: int, honours_page_size: bool) -> None:
        self.total = total
        self.honours_page_size = honours_page_size
        self.pages: list[int] = []

    def request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        if url.endswith("/connect/token"):
            response._content = b'{"access_token": "at", "expires_in": 1800}'
            return response
        params = kwargs["params"]
        assert isinstance(params, dict)
        page = int(params["page"])
        size = int(params["pageSize"]) if self.honours_page_size else 100
        self.pages.append(page)
        ids = range((page - 1) * size, min(page * size, self.total))
        body = {"Invoices": [{"InvoiceID": f"id-{i}"} for i in ids]}
        response._content = json.dumps(body).encode()
        return response


@pytest.mark.parametrize(
    ("total", "honours", "page_size", "expected_pages"),
    [
        (250, False, 1000, [1, 2, 3]),  # 100, 100, 50: the short page ends it
        (200, False, 1000, [1, 2, 3]),  # 100, 100, 0: the empty page ends it
        (250, True, 1000, [1]),  # longer than 100: pageSize honoured, 250 is short
        (2500, True, 1000, [1, 2, 3]),
        (100, True, 1000, [1, 2]),  # ambiguous: one more (empty) page
        (40, True, 50, [1]),
    ],
)
def test_paging_without_pagination_object(
    total: int, honours: bool, page_size: int, expected_pages: list[int]
) -> None:
    from pipelines.xero.client import XeroClient
    from reverse_etl.core.settings import load_settings

    settings = load_settings({"XERO_PAGE_SIZE": str(page_size)}, dotenv_path=None)
    session = _StubSession(total, honours)
    client = XeroClient(settings.xero, session=session, prefetch=False)  # type: ignore[arg-type]
    invoices = [inv for page in client.invoice_pages("t") for inv in page.invoices]
    assert len(invoices) == total
    assert session.pages == expected_pages


def test_read_plan_never_skips_past_unread_changes() -> None:
    from pipelines.xero.source import XeroReadPlan

    cursor = datetime(2024, 6, 3, 10, 0, 0, 500_000, tzinfo=UTC)
    assert XeroReadPlan().moves_cursor(cursor)
    assert XeroReadPlan(since=date(2024, 6, 1)).moves_cursor(cursor)  # re-reads more: fine
    assert not XeroReadPlan(since=date(2024, 6, 4)).moves_cursor(cursor)  # would skip 3 → 4
    assert XeroReadPlan(since=date(2024, 6, 4)).moves_cursor(None)  # first run: as asked
    assert not XeroReadPlan(invoice_ids=["a"]).moves_cursor(cursor)
    assert XeroReadPlan(since=date(2024, 6, 1)).window(cursor) == datetime(2024, 6, 1, tzinfo=UTC)
