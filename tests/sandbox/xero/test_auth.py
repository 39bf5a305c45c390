"""Identity server and API gate: grants, expiry, rotation, wrong credentials, tenant header."""

from __future__ import annotations

import base64
import json

import requests

from tests.sandbox.xero.conftest import XeroHttp


def test_client_credentials_grant_answers_like_xero(xero_http: XeroHttp) -> None:
    response = xero_http.token()
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    # an app created after 2 March 2026: granular scopes only
    assert "accounting.invoices.read" in body["scope"].split()
    assert "accounting.transactions.read" not in body["scope"].split()
    assert "refresh_token" not in body
    claims = body["access_token"].split(".")[1]
    exp = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["exp"]
    assert exp == int(xero_http.sandbox.clock().timestamp()) + 1800


def test_wrong_or_missing_client_credentials_are_invalid_client(xero_http: XeroHttp) -> None:
    wrong = xero_http.token(secret="not-the-secret")
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_client")
    unknown = xero_http.token(client_id="someone-else")
    assert unknown.json()["error"] == "invalid_client"
    anonymous = requests.post(
        f"{xero_http.sandbox.url}/connect/token", data={"grant_type": "client_credentials"}
    )
    assert (anonymous.status_code, anonymous.json()["error"]) == (400, "invalid_client")


def test_unknown_grant_type_is_refused(xero_http: XeroHttp) -> None:
    response = xero_http.token(grant_type="password")
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


def test_refresh_token_rotates_and_the_old_one_is_refused(xero_http: XeroHttp) -> None:
    emulator, clock = xero_http.sandbox.emulator, xero_http.sandbox.clock
    emulator.add_client("standard-app", "standard-secret")
    first = emulator.issue_refresh_token("standard-app")

    answer = xero_http.token("standard-app", "standard-secret", grant_type="refresh_token",
                             refresh_token=first)  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["refresh_token"] != first
    assert body["expires_in"] == 1800 and body["token_type"] == "Bearer"

    # Xero's 30-minute grace period: the used token works again (an answer may have been
    # lost), and each use still rotates
    clock.advance(minutes=29)
    within = xero_http.token("standard-app", "standard-secret", grant_type="refresh_token",
                             refresh_token=first)  # fmt: skip
    assert within.status_code == 200, within.text
    assert within.json()["refresh_token"] not in (first, body["refresh_token"])

    clock.advance(minutes=1)  # 30 minutes after its first use
    again = xero_http.token("standard-app", "standard-secret", grant_type="refresh_token",
                            refresh_token=first)  # fmt: skip
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})

    rotated = xero_http.token("standard-app", "standard-secret", grant_type="refresh_token",
                              refresh_token=body["refresh_token"])  # fmt: skip
    assert rotated.status_code == 200


def test_refresh_token_of_another_client_or_expired_is_invalid_grant(xero_http: XeroHttp) -> None:
    emulator = xero_http.sandbox.emulator
    emulator.add_client("standard-app", "standard-secret")
    token = emulator.issue_refresh_token("standard-app")
    foreign = xero_http.token(grant_type="refresh_token", refresh_token=token)
    assert foreign.json() == {"error": "invalid_grant"}

    stale = emulator.issue_refresh_token("standard-app")
    xero_http.sandbox.clock.advance(days=61)
    expired = xero_http.token("standard-app", "standard-secret", grant_type="refresh_token",
                              refresh_token=stale)  # fmt: skip
    assert expired.json() == {"error": "invalid_grant"}


def test_access_token_expires_on_the_emulator_clock(xero_http: XeroHttp) -> None:
    assert xero_http.invoices({"page": 1}).status_code == 200
    xero_http.sandbox.clock.advance(seconds=1799)
    assert xero_http.invoices({"page": 1}).status_code == 200
    xero_http.sandbox.clock.advance(seconds=1)
    expired = xero_http.invoices({"page": 1})
    assert expired.status_code == 401
    assert expired.json()["Title"] == "Unauthorized"
    assert expired.json()["Detail"].startswith("TokenExpired: token expired at ")
    assert "invalid_token" in expired.headers["WWW-Authenticate"]


def test_token_lifetime_follows_the_limits(xero_http: XeroHttp) -> None:
    emulator = xero_http.sandbox.emulator
    emulator.limits = emulator.limits.updated({"access_token_seconds": 60})
    assert xero_http.token().json()["expires_in"] == 60


def test_missing_or_invalid_bearer_token_is_401(xero_http: XeroHttp) -> None:
    xero_http.access_token = None
    missing = xero_http.invoices()
    assert missing.status_code == 401 and missing.json()["Title"] == "Unauthorized"
    xero_http.access_token = "not-a-token"
    invalid = xero_http.invoices()
    assert invalid.status_code == 401
    assert invalid.json()["Detail"] == "AuthenticationUnsuccessful"
    assert xero_http.get("/connections").status_code == 401


def test_tenant_header_is_required_and_must_be_connected(xero_http: XeroHttp) -> None:
    tenant = xero_http.tenant_id
    xero_http.tenant_id = None
    missing = xero_http.invoices()
    assert missing.status_code == 403 and missing.json()["Title"] == "Forbidden"
    xero_http.tenant_id = "00000000-0000-4000-8000-000000000000"
    assert xero_http.invoices().status_code == 403
    xero_http.tenant_id = tenant.upper()  # the header is case-insensitive, like a GUID
    assert xero_http.invoices().status_code == 200


def test_a_client_sees_only_its_own_organisations(xero_http: XeroHttp) -> None:
    emulator = xero_http.sandbox.emulator
    other = emulator.seed_demo(5, seed=3)[0]
    emulator.add_client("custom-connection", "cc-secret", tenant_ids=[other])
    response = xero_http.token("custom-connection", "cc-secret")
    xero_http.access_token = response.json()["access_token"]
    connections = xero_http.get("/connections").json()
    assert [c["tenantId"] for c in connections] == [other]
    assert set(connections[0]) == {
        "id", "authEventId", "tenantId", "tenantType", "tenantName", "createdDateUtc",
        "updatedDateUtc",
    }  # fmt: skip
    assert xero_http.invoices().status_code == 403  # the first organisation is not connected
    xero_http.tenant_id = other
    assert xero_http.invoices().status_code == 200


def test_standard_app_set_up_from_another_process(xero_http: XeroHttp) -> None:
    control = f"{xero_http.sandbox.url}/_sandbox"
    added = requests.post(
        f"{control}/clients",
        json={"client_id": "app", "client_secret": "s3cret", "tenant_ids": [xero_http.tenant_id]},
    )
    assert added.json() == {"added": True}
    token = requests.post(f"{control}/refresh-tokens", json={"client_id": "app"}).json()
    answer = xero_http.token("app", "s3cret", grant_type="refresh_token",
                             refresh_token=token["refresh_token"])  # fmt: skip
    assert answer.status_code == 200 and answer.json()["refresh_token"]
    assert requests.post(f"{control}/reset").json() == {"reset": True}
    assert xero_http.token("app", "s3cret").json() == {"error": "invalid_client"}
    assert xero_http.token().status_code == 200  # the default sandbox client survives a reset
