"""The gateway's auth state, read from ``POST /tickle`` and its ``iserver.authStatus`` (docs/cpapi.md 1.5 and 1.8).

The ladder, lowest first::

    NOT_RUNNING -> STARTING -> NO_SESSION -> NOT_CONNECTED -> COMPETING -> AUTHENTICATED

- NOT_RUNNING: nothing answers (connection refused, timeout, TLS failure, "Access Denied").
- STARTING: the manager launched the gateway and is waiting for it to answer (never read from a tickle).
- NO_SESSION: the gateway answers but nobody is logged in: 401, a redirect to ``/sso/Login``, or
  ``{"error": "no session"}``. A person must log in in the browser.
- NOT_CONNECTED: logged in (SSO), but the brokerage session is not open (``connected`` or ``authenticated`` false).
- COMPETING: another platform holds this username's brokerage session (``competing`` true).
- AUTHENTICATED: authenticated, connected and not competing.

A tickle that tells nothing about the session (429, 5xx, ``{"error": "failed to process request"}``) is
*inconclusive*: :attr:`Probe.state` is None and the manager keeps the state it had.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import requests


class AuthState(StrEnum):
    """Where the gateway stands, lowest rung first."""

    NOT_RUNNING = "not_running"
    STARTING = "starting"
    NO_SESSION = "no_session"
    NOT_CONNECTED = "not_connected"
    COMPETING = "competing"
    AUTHENTICATED = "authenticated"

    @property
    def portfolio_readable(self) -> bool:
        """The login (SSO) is valid, so IBKR serves ``/portfolio`` read-only even without the brokerage session
        (another platform holds it, or it is not open yet): "requesting portfolio information without breaking
        existing trading sessions" (IBKR's v1 docs and Web API docs, Trading Sessions)."""
        return self in (AuthState.NOT_CONNECTED, AuthState.COMPETING, AuthState.AUTHENTICATED)

    @property
    def rung(self) -> int:
        """Position on the ladder: 0 (NOT_RUNNING) to 5 (AUTHENTICATED)."""
        return list(AuthState).index(self)

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def has_session(self) -> bool:
        """True when someone is logged in (SSO), whatever the brokerage session does."""
        return self.rung >= AuthState.NOT_CONNECTED.rung


_LABELS = {
    AuthState.NOT_RUNNING: "Gateway not running",
    AuthState.STARTING: "Gateway starting",
    AuthState.NO_SESSION: "Login needed",
    AuthState.NOT_CONNECTED: "Brokerage session not open",
    AuthState.COMPETING: "Competing session",
    AuthState.AUTHENTICATED: "Authenticated",
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Probe:
    """What one tickle said. ``detail`` is a short, credential-free description for logs and the status page."""

    state: AuthState | None
    detail: str
    status_code: int | None = None
    authenticated: bool | None = None
    competing: bool | None = None
    connected: bool | None = None
    established: bool | None = None
    sso_expires_ms: int | None = None
    server_name: str | None = None
    server_version: str | None = None
    fail: str | None = None
    session_fingerprint: str | None = field(default=None, repr=False)  # a hash of the token, for logs and events
    session_token: str | None = field(default=None, repr=False, compare=False)  # the websocket's cookie; never logged
    at: dt.datetime = field(default_factory=_now)

    @property
    def conclusive(self) -> bool:
        return self.state is not None


def state_from_auth_status(status: dict[str, Any] | None) -> AuthState:
    """The rung for an SSO session whose ``authStatus`` is ``status`` (docs/cpapi.md 1.8, step 2)."""
    if not isinstance(status, dict):
        return AuthState.NOT_CONNECTED
    if not status.get("connected"):
        return AuthState.NOT_CONNECTED
    if status.get("competing"):
        return AuthState.COMPETING
    if not status.get("authenticated"):
        return AuthState.NOT_CONNECTED
    return AuthState.AUTHENTICATED


def probe_from_auth_status(status: dict[str, Any], code: int | None, endpoint: str) -> Probe:
    """A probe from an ``authStatus`` object (the body of ``ssodh/init`` and ``auth/status``, or inside a tickle)."""
    state = state_from_auth_status(status)
    server = status.get("serverInfo")
    info: dict[str, Any] = server if isinstance(server, dict) else {}
    fail = status.get("fail") or None
    flags = ", ".join(k for k in ("authenticated", "connected", "competing") if status.get(k)) or "no flags set"
    return Probe(
        state=state, detail=f"HTTP {code} {endpoint}: {flags}" + (f" ({fail})" if fail else ""), status_code=code,
        authenticated=_bool(status.get("authenticated")), competing=_bool(status.get("competing")),
        connected=_bool(status.get("connected")), established=_bool(status.get("established")),
        server_name=info.get("serverName"), server_version=info.get("serverVersion"), fail=fail,
    )


def parse_tickle(response: requests.Response) -> Probe:
    """The probe for an HTTP answer to ``POST /tickle``."""
    code = response.status_code
    if code in (301, 302, 303, 307, 308):
        where = response.headers.get("Location", "")
        if "/sso/" in where or "login" in where.lower():
            return Probe(AuthState.NO_SESSION, f"HTTP {code}: redirected to the login page", status_code=code)
        return Probe(None, f"HTTP {code}: unexpected redirect", status_code=code)
    if code == 401:
        return Probe(AuthState.NO_SESSION, "HTTP 401: no session", status_code=code)
    if code == 403 or "access denied" in response.text[:500].lower():
        return Probe(AuthState.NOT_RUNNING, f"HTTP {code}: Access Denied (this machine is not in the gateway's "
                     "ips.allow in root/conf.yaml)", status_code=code)
    if code == 429:
        return Probe(None, "HTTP 429: rate limited by the gateway", status_code=code)
    if code >= 500:
        return Probe(None, f"HTTP {code}: the gateway or IBKR's backend is busy or restarting", status_code=code)
    if code != 200:
        return Probe(None, f"HTTP {code}: unexpected answer to /tickle", status_code=code)
    try:
        body = response.json()
    except ValueError:
        return Probe(None, "HTTP 200: the answer to /tickle is not JSON", status_code=code)
    if not isinstance(body, dict):
        return Probe(None, "HTTP 200: the answer to /tickle is not a JSON object", status_code=code)
    return parse_tickle_body(body, code)


def parse_tickle_body(body: dict[str, Any], code: int | None = 200) -> Probe:
    """The probe for a JSON tickle body (success or error shape)."""
    error = body.get("error")
    if error:
        if "no session" in str(error).lower():
            return Probe(AuthState.NO_SESSION, f"HTTP {code}: no session", status_code=code)
        return Probe(None, f"HTTP {code}: gateway error {str(error)[:120]!r}", status_code=code)
    iserver = body.get("iserver")
    status = iserver.get("authStatus") if isinstance(iserver, dict) else None
    probe = probe_from_auth_status(status if isinstance(status, dict) else {}, code, "tickle")
    token = body.get("session")
    fingerprint = hashlib.sha256(str(token).encode()).hexdigest()[:12] if token else None
    expires = body.get("ssoExpires")
    return Probe(
        state=probe.state if isinstance(status, dict) else AuthState.NOT_CONNECTED,
        detail=probe.detail if isinstance(status, dict) else f"HTTP {code} tickle: SSO session, no authStatus",
        status_code=code, authenticated=probe.authenticated, competing=probe.competing, connected=probe.connected,
        established=probe.established, sso_expires_ms=_int(expires), server_name=probe.server_name,
        server_version=probe.server_version, fail=probe.fail, session_fingerprint=fingerprint,
        session_token=str(token) if token else None,
    )


def probe_failure(exc: requests.RequestException) -> Probe:
    """The probe for a tickle that got no HTTP answer: the gateway is not running (or not reachable)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return Probe(AuthState.NOT_RUNNING, f"TLS failed: {_short(exc)}")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Probe(AuthState.NOT_RUNNING, "connection timed out")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Probe(AuthState.NOT_RUNNING, "no answer before the timeout")
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc).lower()
        if "refused" in text:
            return Probe(AuthState.NOT_RUNNING, "connection refused")
        return Probe(AuthState.NOT_RUNNING, f"connection failed: {_short(exc)}")
    return Probe(AuthState.NOT_RUNNING, f"request failed: {_short(exc)}")


def looks_like_gateway(response: requests.Response) -> bool:
    """Whether an answer to ``POST /v1/api/tickle`` is one an IBKR Client Portal Gateway would give."""
    code = response.status_code
    if code == 401 or (code in (302, 303) and "/sso/" in response.headers.get("Location", "")):
        return True
    if code in (500, 502, 503) and response.headers.get("Content-Type", "").startswith("application/json"):
        return True
    if code != 200:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool({"iserver", "session", "ssoExpires", "error"} & body.keys())


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "..."
