"""Each check of the gate, on one record: generated from its list, the record is refused with
the field and the check's fix named; what the contract normalises is normalised."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pipelines.xero import finance_records as fr
from pipelines.xero.contract import CHECKS, iso_4217_codes
from pipelines.xero.records import parse_invoice
from reverse_etl.core.errors import RecordParseError
from tests.extract.gate_cases import bad_value, corrupted, gate_checks, invoice_corruptions
from tests.extract.test_parsing_and_limits import _payload


def _invoice() -> dict[str, Any]:
    second = {"LineItemID": "l-2", "Description": "y", "Quantity": 1, "UnitAmount": Decimal(1),
              "LineAmount": Decimal(1)}  # fmt: skip
    payload = _payload()
    payload["LineItems"] = [*payload["LineItems"], second]  # type: ignore[list-item]
    payload.update(SubTotal=Decimal("1.15"), Total=Decimal("1.15"), AmountDue=Decimal("1.15"))
    return payload


def test_the_sound_invoice_parses() -> None:
    row = parse_invoice(_invoice(), "tenant-1")
    assert row["currency_code"] == "EUR" and len(row["line_items"]) == 2


CASES = invoice_corruptions(_invoice())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@pytest.mark.parametrize("for_dlt", [False, True], ids=["typed", "dlt"])
def test_every_invoice_check_refuses_its_bad_value(case: Any, for_dlt: bool) -> None:
    with pytest.raises(RecordParseError) as raised:
        parse_invoice(corrupted(_invoice(), case.path, case.value), "tenant-1", for_dlt=for_dlt)
    error = raised.value
    assert error.field == case.named
    if case.check.rule != "required" or case.named != "InvoiceID":
        assert error.fix == case.check.fix and error.record_id
    assert case.named in str(error) and "Fix:" in str(error)


def test_the_cases_cover_every_check_the_gate_runs_on_invoices() -> None:
    runs = {(c.resource, c.path, c.rule) for c in CHECKS if not c.enforced_by}
    covered = {(c.check.resource, c.check.path, c.check.rule) for c in CASES}
    assert {r for r in runs if r[0] in ("invoice", "line item")} == covered


@pytest.mark.parametrize("code", ["usd", " eur ", "Nzd"])
def test_a_lower_case_currency_is_upper_cased(code: str) -> None:
    for for_dlt in (False, True):
        row = parse_invoice({**_invoice(), "CurrencyCode": code}, "t", for_dlt=for_dlt)
        assert row["currency_code"] == code.strip().upper()


@pytest.mark.parametrize("code", ["", "XXX", "XAU", "EURO", "US$", 978])
def test_a_currency_that_is_no_iso_4217_code_is_refused(code: object) -> None:
    with pytest.raises(RecordParseError) as raised:
        parse_invoice({**_invoice(), "CurrencyCode": code}, "t")
    assert raised.value.field == "CurrencyCode"


@pytest.mark.parametrize("rate", [Decimal("-0.5"), 0, None])
def test_a_rate_that_is_not_positive_is_refused(rate: object) -> None:
    with pytest.raises(RecordParseError) as raised:
        parse_invoice({**_invoice(), "CurrencyRate": rate}, "t")
    assert raised.value.field == "CurrencyRate"


# Xero's CurrencyCode enum (XeroAPI/Xero-OpenAPI xero_accounting.yaml, as its SDKs generate it)
XERO_CURRENCY_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
BYR BZD CAD CDF CHF CLF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EEK EGP ERN ETB EUR FJD
FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES
KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD MAD MDL MGA MKD MMK MNT MOP MRO
MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON
RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SKK SLE SLL SOS SRD STD STN SVC SYP SZL THB TJS TMT TND
TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VEF VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMK ZMW ZWD
""".split()  # noqa: SIM905 (the list as Xero prints it, 24 a line)


def test_the_iso_list_holds_the_currencies_in_use_and_no_pseudo_codes() -> None:
    codes = iso_4217_codes()
    assert len(XERO_CURRENCY_CODES) == 168 and set(XERO_CURRENCY_CODES) <= codes
    assert {"NZD", "AUD", "USD", "EUR", "GBP", "JPY", "DKK", "XOF", "XCD"} <= codes
    assert not {"XXX", "XTS", "XAU", "XDR"} & codes
    assert all(len(c) == 3 and c.isupper() for c in codes)


_FINANCE: dict[str, tuple[str, fr.Spec, dict[str, Any]]] = {
    "contact": ("ContactID", fr.CONTACT_FIELDS, {"ContactID": "c-1", "Name": "A"}),
    "payment": ("PaymentID", fr.PAYMENT_FIELDS, {
        "PaymentID": "p-1", "Amount": Decimal("5"), "CurrencyRate": Decimal("1"),
        "Invoice": {"InvoiceID": "i-1", "CurrencyCode": "NZD"},
    }),
    **{
        resource: (id_field, spec, {
            id_field: "d-1", "Contact": {"ContactID": "c-1"}, "CurrencyCode": "AUD",
            "CurrencyRate": Decimal("1.2"), "Total": Decimal("3"),
        })
        for resource, id_field, spec in (
            ("credit note", "CreditNoteID", fr.CREDIT_NOTE_FIELDS),
            ("overpayment", "OverpaymentID", fr.OVERPAYMENT_FIELDS),
            ("prepayment", "PrepaymentID", fr.PREPAYMENT_FIELDS),
        )
    },
}  # fmt: skip
FINANCE_CASES = [(r, c) for r in _FINANCE for c in gate_checks(r)]


@pytest.mark.parametrize(
    ("resource", "check"),
    FINANCE_CASES,
    ids=[f"{r}-{c.field}-{c.rule}".replace(" ", "_") for r, c in FINANCE_CASES],
)
def test_every_finance_check_refuses_its_bad_value(resource: str, check: Any) -> None:
    id_field, spec, payload = _FINANCE[resource]
    stamp = {"UpdatedDateUTC": "/Date(1717408800123+0000)/"}
    fr.parse_record(resource, id_field, spec, {**payload, **stamp}, "t")  # sound as given
    bad = corrupted({**payload, **stamp}, ".".join(check.path), bad_value(check, payload))
    with pytest.raises(RecordParseError) as raised:
        fr.parse_record(resource, id_field, spec, bad, "t", for_dlt=True)
    assert raised.value.field == check.field and "Quarantined" in str(raised.value)


def test_an_unknown_organisation_time_zone_is_an_error_naming_it() -> None:
    from datetime import UTC, datetime

    org = {"OrganisationID": "o-1", "Name": "Org", "BaseCurrency": "NZD",
           "Timezone": "NEWZEALANDSTANDARDTIME"}  # fmt: skip
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert fr.organisation_row(org, "t", at)["timezone"] == "Pacific/Auckland"
    for check in gate_checks("organisation"):
        bad = corrupted(org, ".".join(check.path), bad_value(check, org))
        with pytest.raises(RecordParseError) as raised:
            fr.organisation_row(bad, "t", at)
        assert raised.value.field == check.field
    with pytest.raises(RecordParseError, match="MARSSTANDARDTIME"):
        fr.organisation_row({**org, "Timezone": "MARSSTANDARDTIME"}, "t", at)
