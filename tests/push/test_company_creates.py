"""Company creates through the HubSpot client (issue 20): a create is not an upsert, so one
whose answer may hide an applied write is never resent blindly — what it made is looked up by
``xero_contact_id`` (after the search index has had time to catch up) and only the rest sent."""

from __future__ import annotations

from typing import Any

import pytest
import urllib3

from reverse_etl.push.customer_schema import XERO_CONTACT_ID
from tests.fixtures.hubspot import HubSpotSandbox
from tests.push.conftest import SimClock, make_client

CREATE = "/crm/objects/2026-09/companies/batch/create"
CREATE_ROUTE = "POST /crm/objects/2026-09/{objectType}/batch/create"


def _inputs(n: int) -> list[dict[str, Any]]:
    return [
        {"properties": {"name": f"Customer {i}", "xero_contact_id": f"contact-{i:03d}"}}
        for i in range(n)
    ]


@pytest.fixture
def hub(hubspot_sandbox: HubSpotSandbox, settings, sim_clock: SimClock):
    client = make_client(settings, sim_clock)
    client.create_property(
        "companies",
        {**XERO_CONTACT_ID.to_hubspot(), "groupName": "companyinformation"},
    )
    return client


def _stamps(sandbox: HubSpotSandbox) -> list[str]:
    return sorted(
        r["properties"]["xero_contact_id"]
        for r in sandbox.emulator.records("companies")
        if not r["archived"]
    )


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "lose_answer"},  # applied, answer lost
        {"kind": "lose_answer", "seconds": 0.2},  # applied, answer late then lost
        {"kind": "lose_answer", "seconds": 3.0},  # applied, our read timeout (1.5 s) fires first
        {"kind": "status", "status": 502},  # a gateway error: applied or not, we cannot tell
    ],
)
def test_a_create_with_a_lost_answer_makes_each_company_once(
    hub, hubspot_sandbox: HubSpotSandbox, sim_clock: SimClock, fault: dict[str, Any]
) -> None:
    hubspot_sandbox.emulator.search_lag_seconds = 2.0  # HubSpot's index lags writes
    hubspot_sandbox.emulator.faults.add(method="POST", path_prefix=CREATE, times=1, **fault)
    if fault.get("seconds", 0) > 1:
        hub.timeout = (10.0, 1.5)
    answer = hub.create_companies(_inputs(5), key="xero_contact_id")

    assert _stamps(hubspot_sandbox) == [f"contact-{i:03d}" for i in range(5)]
    assert sorted(r["properties"]["xero_contact_id"] for r in answer.results) == _stamps(
        hubspot_sandbox
    )
    assert max(sim_clock.slept) >= hub.search_settle_seconds, "waited for the search index"
    creates = hubspot_sandbox.emulator.counters.snapshot()["by_route"][CREATE_ROUTE]
    applied = fault["kind"] == "lose_answer"
    assert creates == (1 if applied else 2), "resent only what nobody had made"


def test_a_create_partly_found_resends_only_the_rest(hub, hubspot_sandbox: HubSpotSandbox) -> None:
    """Two of the five already exist (a person stamped them meanwhile): only three are made."""
    hubspot_sandbox.emulator.seed(
        "companies", [{"name": "By hand", "xero_contact_id": f"contact-{i:03d}"} for i in (1, 3)]
    )
    hubspot_sandbox.emulator.faults.add("status", status=503, path_prefix=CREATE, times=1)
    answer = hub.create_companies(_inputs(5), key="xero_contact_id")
    assert _stamps(hubspot_sandbox) == [f"contact-{i:03d}" for i in range(5)]
    assert len(answer.results) == 5


def _flaky(first: Exception) -> tuple[list[dict[str, Any]], Any]:
    sent: list[dict[str, Any]] = []

    def method(*_args: Any, **kwargs: Any) -> Any:
        sent.append(kwargs)
        if len(sent) == 1:
            raise first
        return ({"results": []}, 201, {})

    return sent, method


def test_a_request_that_never_left_is_resent_without_looking(settings, sim_clock) -> None:
    """A refused connection sent nothing: the create is simply sent again."""
    hub = make_client(settings, sim_clock)
    sent, method = _flaky(urllib3.exceptions.NewConnectionError(None, "refused"))
    looked: list[dict[str, Any]] = []
    result = hub.call(
        "create", method, scope="s", body="b", before_resend=lambda kw: looked.append(kw) or kw
    )
    assert result.status == 201 and len(sent) == 2 and looked == []
    assert max(sim_clock.slept) < hub.search_settle_seconds


def test_a_read_timeout_looks_before_resending_and_may_send_nothing(settings, sim_clock) -> None:
    hub = make_client(settings, sim_clock)
    sent, method = _flaky(urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out"))
    result = hub.call("create", method, scope="s", body="b", before_resend=lambda _kw: None)
    assert len(sent) == 1, "everything was found: nothing resent"
    assert result.data is None and result.status == 200
    assert max(sim_clock.slept) >= hub.search_settle_seconds
