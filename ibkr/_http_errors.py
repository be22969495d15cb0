"""How a gateway response becomes a JSON body or one exception of :mod:`ibkr.errors` (see ibkr.transport)."""

from __future__ import annotations

import email.utils
import re
import time
from typing import Any

import requests

from ibkr.errors import (
    AccessDenied,
    BrokerageSessionMissing,
    GatewayBusy,
    InvalidResponse,
    NotAuthenticated,
    RateLimited,
    RequestRejected,
    UnknownAccount,
)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
_PRIMING = re.compile(r"query\s+/?(?:iserver/|portfolio/)?accounts?\s+first", re.I)
_UNKNOWN_ACCOUNT = re.compile(
    r"(invalid|unknown|bad|wrong)\s+account|account(?:\s*id)?\b[^.]{0,40}?\b(not\s+found|invalid|unknown"
    r"|does\s*n[o']t\s+exist|not\s+(?:valid|correct|authori[sz]ed|permitted))",
    re.I,
)
_SECRET_KEYS = frozenset({"session", "sessionid", "credential", "cookie", "set-cookie", "ip", "mac", "hardware_info",
                          "live_session_token_signature", "diffie_hellman_response", "password", "token"})


def redact(body: Any) -> Any:
    """A copy of a JSON body with session tokens and credentials masked, fit for logs and exceptions."""
    if isinstance(body, dict):
        return {k: ("***" if str(k).lower() in _SECRET_KEYS else redact(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [redact(v) for v in body]
    return body


class NeedsPriming(Exception):
    """The gateway asked for /iserver/accounts or /portfolio/accounts to be queried first."""


def interpret(response: requests.Response, endpoint: str, login: str) -> Any:
    """The JSON body of a gateway response (None when empty), or the ibkr.errors exception it stands for.

    ``login`` is the page where a person logs in, quoted in NotAuthenticated messages.
    """
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        if "/sso/" in location.lower() or "login" in location.lower():
            raise NotAuthenticated(
                f"The gateway has no authenticated session (it redirects to its login page). "
                f"Log in at {login}.", status=status, endpoint=endpoint,
            )
        raise InvalidResponse(f"The gateway redirected to {location or '?'} unexpectedly.",
                              status=status, endpoint=endpoint)
    text = response.text or ""
    body = _json_or_none(response)
    not_json = body is _NOT_JSON
    if not_json:
        body = None
    if status == 403 or (not_json and "access denied" in text.lower()):
        raise AccessDenied(
            "The gateway refused this machine (Access Denied): add its IP address to ips.allow in the "
            "gateway's root/conf.yaml and restart the gateway.", status=status, endpoint=endpoint,
        )
    error = body.get("error") if isinstance(body, dict) else None
    message = error if isinstance(error, str) else None
    if message and "no bridge" in message.lower():  # 401 or 400 (BEZANT's and ibind's bodies): not a login problem
        raise BrokerageSessionMissing(
            f"The brokerage session is not open ({message!r}): the login is valid, nobody needs to log in again. "
            "The gateway opens it by itself shortly after a login; if another platform (TWS, IBKR Mobile) holds "
            "it, positions stay readable and Take over on the Gateway page opens it here.", status=status,
            endpoint=endpoint, body=redact(body))
    if status == 401:
        raise NotAuthenticated(f"The gateway has no authenticated session. Log in at {login}.",
                               status=status, endpoint=endpoint, body=redact(body))
    if status == 429:
        raise RateLimited(
            "IBKR rate-limited this machine (429 Too Many Requests). Wait before refreshing.",
            retry_after=_retry_after(response.headers.get("Retry-After")), status=status, endpoint=endpoint,
        )
    if message:
        lowered = message.lower()
        if "no session" in lowered or "not authenticated" in lowered:
            raise NotAuthenticated(f"The gateway has no authenticated session ({message!r}). Log in at {login}.",
                                   status=status, endpoint=endpoint, body=redact(body))
        if _PRIMING.search(message):
            raise NeedsPriming(message)
    if status >= 500:
        _deterministic(status, endpoint, message, body)
    if status in RETRY_STATUSES or status >= 500:
        raise GatewayBusy(
            f"The gateway answered {status}{': ' + message if message else ''}. IBKR's side is restarting or "
            "busy; try again shortly.", status=status, endpoint=endpoint, body=redact(body),
        )
    if not_json:
        if status == 404:
            raise RequestRejected("This gateway does not serve that endpoint (404).", status=status,
                                  endpoint=endpoint)
        kind = response.headers.get("Content-Type", "unknown content type")
        raise InvalidResponse(
            f"The gateway answered {status} with {kind} instead of JSON: {text.strip()[:120]!r}",
            status=status, endpoint=endpoint,
        )
    if 400 <= status < 500:
        reason = message or (body.get("message") if isinstance(body, dict) else None) or f"HTTP {status}"
        rejected = UnknownAccount if _UNKNOWN_ACCOUNT.search(str(reason)) else RequestRejected
        raise rejected(f"The gateway rejected the request: {reason}", status=status, endpoint=endpoint,
                       body=redact(body))
    if message and endpoint.startswith("GET ") and isinstance(body, dict) and set(body) <= {"error", "statusCode"}:
        # IBKR answers some failed reads 200 {"error": ...} (docs/cpapi.md; IBKR's v1 "Order Error Details"): an error, never empty data.
        raise RequestRejected(f"The gateway could not answer: {message}", status=status, endpoint=endpoint,
                              body=redact(body))
    return body


_DETERMINISTIC_5XX: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, str], ...] = (
    (re.compile(r"^GET /iserver/account/order/status/"), None,
     "IBKR has no status for this order in the current brokerage session (it answers {status} for orders of "
     "earlier sessions; look the order up in the trades or in TWS)."),
    (re.compile(r"^GET /iserver/marketdata/history"), re.compile(r"chart data unavailable", re.I),
     "IBKR has no chart data for this contract and period ({message})."),
    (re.compile(r"^GET /portfolio/[^/]+/allocation"), None,
     "IBKR has no allocation for this account: it answers {status} for an account without positions."),
)
"""5xx answers that mean the same every time, so retrying them only spends pacing: IBKR's spec (order status of
a past session: 503; a wrong account: 500) and live reports (history "Chart data unavailable" 500; allocation
of an empty account 500: stephus182/ibkr_core_mcp live-test-log). The gateway's own empty 503 after 10 s is
transient and stays GatewayBusy everywhere else."""


def _deterministic(status: int, endpoint: str, message: str | None, body: Any) -> None:
    """Raise RequestRejected / UnknownAccount (never retried) for a 5xx that will not change on a retry."""
    if message and _UNKNOWN_ACCOUNT.search(message):
        raise UnknownAccount(f"IBKR does not know this account here: {message}", status=status, endpoint=endpoint,
                             body=redact(body))
    for where, text, meaning in _DETERMINISTIC_5XX:
        if where.search(endpoint) and (text is None or (message and text.search(message))):
            raise RequestRejected(meaning.format(status=status, message=message or f"HTTP {status}"),
                                  status=status, endpoint=endpoint, body=redact(body))


_NOT_JSON = object()


def _json_or_none(response: requests.Response) -> Any:
    """The JSON body; None when the body is empty; ``_NOT_JSON`` when it is not JSON (never a JSON traceback)."""
    content = response.content
    if not content or not content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        return _NOT_JSON


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
