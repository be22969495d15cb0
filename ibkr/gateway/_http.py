"""The manager's own HTTP session to the gateway: tickle, ssodh/init, /iserver/accounts, /sso/validate, logout.

It is separate from the client's transport on purpose (DESIGN.md): the keep-alive must work while the client is
busy or failing. It keeps inside IBKR's pacing limits by itself: never two tickles less than 1.1 s apart (IBKR:
1/s) and never two SSO validations less than 61 s apart (IBKR: 1/min); the manager sends a handful of requests a
minute, far below the 10/s of the whole gateway. ``trust_env`` is off so ``REQUESTS_CA_BUNDLE`` cannot replace
the pinned certificate. Nothing here logs a cookie, a session token or an account list.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from ibkr.gateway._state import AuthState, Probe, parse_tickle, probe_failure, probe_from_auth_status
from ibkr.pacing import LIMITER

log = logging.getLogger(__name__)

TICKLE_MIN_INTERVAL = 1.1
SSO_VALIDATE_MIN_INTERVAL = 61.0
USER_AGENT = "ibkr-desk-gateway-manager"


class GatewayHttp:
    """One ``requests.Session`` to the gateway's ``/v1/api``; safe to share between threads (calls are serialised)."""

    def __init__(self, api_base: str, verify: bool | str, timeout: float = 10.0,
                 sleep: Callable[[float], Any] = time.sleep) -> None:
        self.api_base = api_base.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify
        self.session.headers["User-Agent"] = USER_AGENT
        self.timeout = (min(3.05, timeout), timeout)
        self.sleep = sleep
        self._lock = threading.RLock()
        self._last_tickle = float("-inf")
        self._last_validate = float("-inf")

    # ---- raw ----------------------------------------------------------------------------------------------------
    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request, no redirects followed (a redirect to ``/sso/Login`` means "no session").

        It goes through the process-wide pacing limiter the API client uses, so the manager's requests and the
        dashboard's together stay inside IBKR's limits.
        """
        with self._lock, LIMITER.slot(method, path, max_pause=self.timeout):
            return self.session.request(method, self.api_base + path, timeout=self.timeout,
                                        allow_redirects=False, **kwargs)

    def tickle_response(self) -> requests.Response:
        """``POST /tickle``, waiting first if the previous tickle was less than 1.1 s ago."""
        with self._lock:
            wait = self._last_tickle + TICKLE_MIN_INTERVAL - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last_tickle = time.monotonic()
            return self.send("POST", "/tickle")

    # ---- the manager's calls ------------------------------------------------------------------------------------
    def tickle(self) -> Probe:
        try:
            return parse_tickle(self.tickle_response())
        except requests.RequestException as exc:
            return probe_failure(exc)

    def init_brokerage(self, compete: bool) -> Probe:
        """``POST /iserver/auth/ssodh/init {"publish": true, "compete": ...}``: (re)open the brokerage session."""
        try:
            r = self.send("POST", "/iserver/auth/ssodh/init", json={"publish": True, "compete": compete})
        except requests.RequestException as exc:
            return probe_failure(exc)
        if r.status_code == 404:  # an older gateway: the legacy endpoint does the same without compete
            log.info("ssodh/init is not known to this gateway; using the legacy /iserver/reauthenticate")
            try:
                r = self.send("POST", "/iserver/reauthenticate")
            except requests.RequestException as exc:
                return probe_failure(exc)
            if r.status_code == 200:
                return Probe(None, "HTTP 200 reauthenticate: triggered", status_code=200)
        return self._auth_status_probe(r, "ssodh/init")

    def prime_accounts(self) -> bool:
        """``GET /iserver/accounts``: IBKR requires it after every (re)authentication before other /iserver calls."""
        try:
            r = self.send("GET", "/iserver/accounts")
        except requests.RequestException as exc:
            log.warning("priming /iserver/accounts failed: %s", type(exc).__name__)
            return False
        if r.status_code != 200:
            log.warning("priming /iserver/accounts answered HTTP %s", r.status_code)
            return False
        return True

    def validate_sso(self) -> dict[str, Any] | None:
        """``GET /sso/validate`` at most once every 61 s (None when skipped or failed): user, paper, expiry."""
        with self._lock:
            if time.monotonic() - self._last_validate < SSO_VALIDATE_MIN_INTERVAL:
                return None
            self._last_validate = time.monotonic()
            try:
                r = self.send("GET", "/sso/validate")
                body = r.json() if r.status_code == 200 else None
            except (requests.RequestException, ValueError) as exc:
                log.warning("SSO validation failed: %s", type(exc).__name__)
                return None
        if not isinstance(body, dict):
            return {"valid": False, "status": r.status_code}
        login_type = body.get("LOGIN_TYPE", body.get("loginType"))
        return {"valid": bool(body.get("RESULT")), "user": body.get("USER_NAME"),
                "paper": login_type == 2 if login_type is not None else None,
                "expires_ms": body.get("EXPIRES", body.get("expire"))}

    def logout(self) -> bool:
        try:
            r = self.send("POST", "/logout")
        except requests.RequestException as exc:
            log.warning("logout failed: %s", type(exc).__name__)
            return False
        return r.status_code == 200

    def close(self) -> None:
        self.session.close()

    @staticmethod
    def _auth_status_probe(r: requests.Response, endpoint: str) -> Probe:
        if r.status_code == 401:
            return Probe(AuthState.NO_SESSION, f"HTTP 401 {endpoint}: no session", status_code=401)
        try:
            body = r.json()
        except ValueError:
            body = None
        if r.status_code != 200 or not isinstance(body, dict):
            return Probe(None, f"HTTP {r.status_code} {endpoint}: unexpected answer", status_code=r.status_code)
        return probe_from_auth_status(body, r.status_code, endpoint)
