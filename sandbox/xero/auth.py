"""Xero's identity server, emulated: client credentials, refresh-token rotation, access tokens.

Behaviour relied on (Xero developer docs "Custom connections" and "Refreshing access tokens";
``xero_python.api_client.oauth2``): ``POST /connect/token`` with the client id and secret as
HTTP Basic (or as form fields, which the official SDK sends);
``grant_type=client_credentials`` (custom connection, no refresh token) or
``grant_type=refresh_token`` (standard app: the answer carries a *new* refresh token and the
old one stops working). Errors are OAuth 2 JSON (``{"error": "invalid_client"}`` for bad
credentials, ``invalid_grant`` for an unknown, used or expired refresh token), HTTP 400 — the
answer of the IdentityServer product Xero's identity service is built on (IdentityServer3
issue #3601 "400 BadRequest (invalid_client) from token endpoint"; xero-python issue #69 shows
the same ``invalid_client`` from ``identity.xero.com/connect/token``).
Access tokens are JWT-shaped (clients may decode ``exp``) and live ``expires_in`` seconds
(1800) on the emulator's clock.

Grace period: a refresh token that has been used keeps working for 30 minutes after its first
use, so a client that lost the answer (crash, dropped connection) can refresh again with it.
Each such refresh still rotates: it answers with another new refresh token. After the grace
period the used token is ``invalid_grant``. Source: Xero staff on the Xero Developer Community
("If, for whatever reason, you don't receive the response after performing the token refresh
you can retry refreshing the old token for a grace period of 30 minutes", discussion 105714701;
"Refresh Tokens ... provide a 30 minute grace period where the same token can be used as many
times as needed, in case the initial response containing your new Refresh and Access tokens is
lost", discussion 127920775).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

REFRESH_TOKEN_LIFETIME = timedelta(days=60)
REFRESH_TOKEN_GRACE = timedelta(minutes=30)
# What an app created after 2 March 2026 is granted: granular scopes only (see
# pipelines/xero/scopes.py for the names and sources).
SCOPES_CLIENT_CREDENTIALS = (
    "accounting.invoices.read accounting.payments.read accounting.contacts.read "
    "accounting.settings.read"
)
SCOPES_STANDARD = "offline_access " + SCOPES_CLIENT_CREDENTIALS


class AuthError(Exception):
    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.description = description


@dataclass
class Client:
    client_id: str
    client_secret: str
    tenant_ids: list[str] | None  # None = every tenant


@dataclass
class AccessToken:
    client_id: str
    tenant_ids: list[str] | None
    expires_at: datetime
    auth_event_id: str


@dataclass
class RefreshToken:
    client_id: str
    tenant_ids: list[str] | None
    expires_at: datetime
    auth_event_id: str


@dataclass
class Identity:
    """Registered clients and every token issued; all methods take the current time."""

    access_token_seconds: int = 1800
    clients: dict[str, Client] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    used_refresh_tokens: dict[str, tuple[RefreshToken, datetime]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_client(self, client_id: str, secret: str, tenant_ids: list[str] | None) -> None:
        with self.lock:
            self.clients[client_id] = Client(client_id, secret, tenant_ids)

    def forget_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.used_refresh_tokens.clear()

    def authenticate(self, authorization: str | None, form: dict[str, str]) -> Client:
        """The client named by HTTP Basic or, failing that, ``client_id``/``client_secret`` in
        the form (the official ``xero-python`` SDK posts them in the body: its
        ``oauth2.TokenApi.get_client_credentials_token``), else ``invalid_client``."""
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode()
            except (ValueError, UnicodeDecodeError):
                raise AuthError("invalid_client") from None
            client_id, _, secret = decoded.partition(":")
        elif form.get("client_id"):
            client_id, secret = form["client_id"], form.get("client_secret", "")
        else:
            raise AuthError("invalid_client", "client authentication (HTTP Basic) is required")
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, secret):
            raise AuthError("invalid_client")
        return client

    def issue_refresh_token(self, client_id: str, now: datetime) -> str:
        client = self.clients[client_id]
        token = secrets.token_hex(32)
        with self.lock:
            self.refresh_tokens[token] = RefreshToken(
                client_id, client.tenant_ids, now + REFRESH_TOKEN_LIFETIME, str(uuid.uuid4())
            )
        return token

    def grant(self, client: Client, form: dict[str, str], now: datetime) -> dict[str, object]:
        """The token endpoint's JSON answer for one grant request."""
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            token = self._access_token(client.client_id, client.tenant_ids, str(uuid.uuid4()), now)
            return self._answer(token, SCOPES_CLIENT_CREDENTIALS)
        if grant_type == "refresh_token":
            presented = form.get("refresh_token", "")
            with self.lock:
                stored = self.refresh_tokens.pop(presented, None)
                if stored is not None:
                    self.used_refresh_tokens[presented] = (stored, now)
                elif presented in self.used_refresh_tokens:
                    stored, first_used = self.used_refresh_tokens[presented]
                    if now >= first_used + REFRESH_TOKEN_GRACE:
                        raise AuthError("invalid_grant")
                if stored is None or stored.client_id != client.client_id:
                    raise AuthError("invalid_grant")
            if stored.expires_at <= now:
                raise AuthError("invalid_grant")
            token = self._access_token(
                client.client_id, stored.tenant_ids, stored.auth_event_id, now
            )
            new_refresh = secrets.token_hex(32)
            with self.lock:
                self.refresh_tokens[new_refresh] = RefreshToken(
                    client.client_id,
                    stored.tenant_ids,
                    now + REFRESH_TOKEN_LIFETIME,
                    stored.auth_event_id,
                )
            answer = self._answer(token, SCOPES_STANDARD)
            answer["refresh_token"] = new_refresh
            return answer
        raise AuthError("unsupported_grant_type")

    def _access_token(
        self, client_id: str, tenant_ids: list[str] | None, auth_event_id: str, now: datetime
    ) -> str:
        expires = now + timedelta(seconds=self.access_token_seconds)
        token = _jwt(
            {
                "nbf": int(now.timestamp()),
                "exp": int(expires.timestamp()),
                "iss": "sandbox-identity",
                "aud": "sandbox-identity/resources",
                "client_id": client_id,
                "authentication_event_id": auth_event_id,
                "jti": secrets.token_hex(16),
            }
        )
        with self.lock:
            self.access_tokens[token] = AccessToken(client_id, tenant_ids, expires, auth_event_id)
        return token

    def _answer(self, token: str, scope: str) -> dict[str, object]:
        return {
            "access_token": token,
            "expires_in": self.access_token_seconds,
            "token_type": "Bearer",
            "scope": scope,
        }

    def check(self, authorization: str | None, now: datetime) -> AccessToken:
        """The access token of a ``Bearer`` header; AuthError("TokenExpired"/"Unauthorized")."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthError("Unauthorized", "AuthenticationUnsuccessful")
        token = self.access_tokens.get(authorization[7:].strip())
        if token is None:
            raise AuthError("Unauthorized", "AuthenticationUnsuccessful")
        if token.expires_at <= now:
            stamp = token.expires_at.strftime("%m/%d/%Y %H:%M:%S")
            raise AuthError("TokenExpired", f"TokenExpired: token expired at {stamp}")
        return token


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signature = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'kid': 'sandbox', 'typ': 'JWT'})}.{part(claims)}.{signature}"
