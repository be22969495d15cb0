"""HTTP transport to the gateway: base URL, TLS, timeouts, pacing, retries and error mapping.

Everything that touches the wire goes through :meth:`Transport.request`, which returns parsed JSON or raises
one of :mod:`ibkr.errors`:

====================================================  ===========================================
what the gateway did                                  raised
====================================================  ===========================================
connection refused / dropped, timeout                 GatewayUnavailable (after retries if safe)
TLS verification failed                               ConfigurationError
401, ``{"error": "no session"}``, 302 to /sso/Login   NotAuthenticated: log in at the gateway page
``"no bridge"``                                       NotAuthenticated: initialise brokerage session
403, HTML "Access Denied"                             AccessDenied
429                                                   RateLimited (after honouring Retry-After)
500/502/503/504                                       GatewayBusy (after retries if safe)
"Please query /accounts first"                        primes the session, retries once if safe
400/404/... with ``{"error": ...}``                   RequestRejected / UnknownAccount
a body that is not JSON                               InvalidResponse
====================================================  ===========================================

Retries happen here and only here: for GETs and for POSTs the caller marks ``idempotent=True`` (tickle, auth
status, invalidate, ...), bounded, with exponential backoff and jitter. A request that places, answers,
modifies or cancels an order is sent exactly once, whatever happens.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning

from ibkr._http_errors import NeedsPriming, interpret
from ibkr.config import Settings
from ibkr.errors import (
    ConfigurationError,
    GatewayBusy,
    GatewayUnavailable,
    IbkrError,
    NotAuthenticated,
    RateLimited,
    RequestRejected,
)
from ibkr.pacing import PENALTY_SECONDS, PacingLimiter, default_limiter
from ibkr.sessions import session_lost

log = logging.getLogger(__name__)


def priming_path(path: str) -> str:
    """The endpoint that primes ``path``: ``/portfolio/accounts`` for /portfolio, else ``/iserver/accounts``."""
    return "/portfolio/accounts" if path.startswith(("/portfolio", "/portfolio2")) else "/iserver/accounts"


class Transport:
    """A ``requests.Session`` bound to one gateway (``Settings.api_base``), paced by the process-wide limiter.

    ``verify_ssl`` (true, false or a CA/cert path) is passed with every request, so ``REQUESTS_CA_BUNDLE`` and
    ``CURL_CA_BUNDLE`` in the environment cannot override it (requests lets them override ``Session.verify``).
    ``sleep`` and ``rng`` are injectable so tests never really wait.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: PacingLimiter | None = None,
        session: requests.Session | None = None,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        rate_limit_retries: int = 2,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.base_url = settings.api_base
        self.timeout = settings.request_timeout
        self.limiter = limiter or default_limiter()
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.rate_limit_retries = rate_limit_retries
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.rng = rng
        self.verify = self._verify_setting(settings.tls_verify)
        self.session = session or requests.Session()
        self.session.verify = self.verify
        self.session.headers.update({"User-Agent": "ibkr-desk/0.1", "Accept": "application/json"})
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.closed = False
        self._prime_lock = threading.Lock()
        self._primed_at: dict[str, float] = {}
        if self.verify is False:
            host = re.escape(settings.gateway_host)
            warnings.filterwarnings(
                "ignore", message=rf"Unverified HTTPS request is being made to host '{host}'",
                category=InsecureRequestWarning,
            )

    @staticmethod
    def _verify_setting(value: bool | Path) -> bool | str:
        if isinstance(value, Path):
            if not value.exists():
                raise ConfigurationError(
                    f"IBKR_VERIFY_SSL points to {value}, which does not exist. Give the gateway's certificate "
                    "(or CA bundle) path, true for the system's CAs, or false to skip verification."
                )
            return str(value)
        return bool(value)

    # -- public API ---------------------------------------------------------------------------------------------

    def get(self, path: str, *, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, *, json: Any = None, idempotent: bool = False, **kw: Any) -> Any:
        return self.request("POST", path, json=json, idempotent=idempotent, **kw)

    def delete(self, path: str, *, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.request("DELETE", path, params=params, idempotent=False, **kw)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
        prime: bool = True,
    ) -> Any:
        """Send one request (with retries if it is safe) and return the parsed JSON body (None when empty).

        ``idempotent`` defaults to True for GET and False otherwise; only idempotent requests are retried or
        re-sent after priming. ``prime=False`` turns off the "query /accounts first" handling.
        """
        method = method.upper()
        safe = method == "GET" if idempotent is None else idempotent
        endpoint = f"{method} {path}"
        attempt = rate_attempt = 0
        primed = False
        while True:
            try:
                sent_at = time.monotonic()
                response = self._send(method, path, params, json, timeout)
                return interpret(response, endpoint, self.settings.effective_login_url)
            except NeedsPriming:
                if not prime or primed:
                    raise RequestRejected(
                        f"The gateway still asks for {priming_path(path)} to be queried first. Log in again at "
                        f"{self.settings.effective_login_url} if this persists.", endpoint=endpoint,
                    ) from None
                primed = True
                self._prime(priming_path(path), asked_at=sent_at)
                if not safe:
                    raise RequestRejected(
                        f"The gateway asked for {priming_path(path)} to be queried first, which is done now. "
                        "This request was NOT sent again automatically: send it again if you still want it.",
                        endpoint=endpoint,
                    ) from None
                log.info("primed %s after %s asked for it; retrying once", priming_path(path), endpoint)
            except (GatewayBusy, _ConnectionFailed) as exc:
                error = exc.error if isinstance(exc, _ConnectionFailed) else exc
                if not safe or attempt >= self.max_retries:
                    if isinstance(exc, _ConnectionFailed):
                        raise exc.error from exc.__cause__
                    raise
                attempt += 1
                delay = self._backoff(attempt)
                log.warning("%s failed (%s); retry %d/%d in %.2f s", endpoint, error.message, attempt,
                            self.max_retries, delay)
                self.sleep(delay)
            except NotAuthenticated:
                session_lost(self.settings.gateway_url)  # another session comes next; the keeper looks now
                raise
            except RateLimited as exc:
                # Without Retry-After (IBKR sends none) this is the penalty box: hold back, retry nothing.
                wait = exc.retry_after if exc.retry_after is not None else PENALTY_SECONDS
                exc.retry_after = wait
                self.limiter.pause(wait)
                if not safe or rate_attempt >= self.rate_limit_retries or wait > self.max_retry_after:
                    raise
                rate_attempt += 1
                log.warning("%s: 429 Too Many Requests; waiting %.1f s (%d/%d)", endpoint, wait, rate_attempt,
                            self.rate_limit_retries)

    def close(self) -> None:
        """Close the HTTP session (idempotent)."""
        if not self.closed:
            self.closed = True
            self.session.close()

    # -- internals ----------------------------------------------------------------------------------------------

    def _prime(self, prime_path: str, asked_at: float) -> None:
        """Query ``prime_path`` once for all threads: skipped if another thread primed it after ``asked_at``."""
        with self._prime_lock:
            if self._primed_at.get(prime_path, float("-inf")) >= asked_at:
                return
            self.request("GET", prime_path, prime=False)
            self._primed_at[prime_path] = time.monotonic()

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return delay / 2 + self.rng() * delay / 2

    def _send(self, method: str, path: str, params: Any, json: Any, timeout: float | None) -> requests.Response:
        if self.closed:
            raise IbkrError("This client is closed; create a new one.", endpoint=f"{method} {path}")
        url = self.base_url + path
        endpoint = f"{method} {path}"
        with self.limiter.slot(method, path, max_pause=self.max_retry_after) as held:
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, params=params, json=json, timeout=timeout or self.timeout,
                    verify=self.verify, allow_redirects=False,
                )
            except requests.exceptions.SSLError as exc:
                raise ConfigurationError(
                    f"TLS verification of the gateway at {self.settings.gateway_url} failed. Set IBKR_VERIFY_SSL to "
                    "the gateway's certificate file, or to false for IBKR's self-signed certificate.",
                    endpoint=endpoint,
                ) from exc
            except requests.exceptions.Timeout as exc:
                held.unanswered = not isinstance(exc, requests.exceptions.ConnectTimeout)  # it may arrive later
                raise _ConnectionFailed(GatewayUnavailable(
                    f"The gateway did not answer within {timeout or self.timeout:g} s.", endpoint=endpoint,
                )) from exc
            except requests.exceptions.ConnectionError as exc:
                raise _ConnectionFailed(GatewayUnavailable(
                    f"Cannot reach the gateway at {self.settings.gateway_url}: is it running? "
                    "(the connection failed or dropped)", endpoint=endpoint,
                )) from exc
        log.debug("%s -> %s in %.0f ms", endpoint, response.status_code, (time.monotonic() - started) * 1000)
        return response


class _ConnectionFailed(Exception):
    """Carries a GatewayUnavailable out of _send so the retry loop can tell it from GatewayBusy."""

    def __init__(self, error: GatewayUnavailable) -> None:
        super().__init__(error.message)
        self.error = error
