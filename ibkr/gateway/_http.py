"""The manager's own HTTP session to the gateway: tickle, ssodh/init, /iserver/accounts, /sso/validate, logout.

It is separate from the client's transport on purpose (docs/design.md): the keep-alive must work while the client is
busy or failing. Its requests go through the process-wide pacing limiter (:data:`ibkr.pacing.LIMITER`) the client
uses, so the two together stay inside IBKR's limits; on top of that the manager never tickles twice within 1.1 s
(IBKR: 1/s) and validates SSO only when the limiter has a slot for it (IBKR: 1/min; the limiter's window is 66 s
and outlives the process), so the manager never waits on it. While the limiter holds requests back after a 429 the keep-alive does
not wait: that tick is inconclusive. ``trust_env`` is off so ``REQUESTS_CA_BUNDLE`` cannot replace the pinned
certificate. Nothing here logs a cookie, a session token or an account list.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from ibkr.errors import ConfigurationError, RateLimited
from ibkr.gateway._state import AuthState, Probe, parse_tickle, probe_failure, probe_from_auth_status
from ibkr.pacing import PENALTY_SECONDS, PacingLimiter, default_limiter

log = logging.getLogger(__name__)

TICKLE_MIN_INTERVAL = 1.1
MAX_PAUSE = 1.0  # seconds the keep-alive waits out a 429 pause of the limiter before giving the tick up
USER_AGENT = "ibkr-desk-gateway-manager"
FAILURES = (requests.RequestException, RateLimited)


class GatewayHttp:
    """One ``requests.Session`` to the gateway's ``/v1/api``; safe to share between threads (calls are serialised)."""

    def __init__(self, api_base: str, verify: bool | str, timeout: float = 10.0,
                 sleep: Callable[[float], Any] = time.sleep, limiter: PacingLimiter | None = None) -> None:
        self.api_base = api_base.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify
        self.session.headers["User-Agent"] = USER_AGENT
        # A fresh connection per request (a few a minute): no idle keep-alive connection that would hold the
        # gateway's shutdown back, or point at a gateway process that has since been restarted.
        self.session.headers["Connection"] = "close"
        self.timeout = (min(3.05, timeout), timeout)
        self.sleep = sleep
        self.limiter = limiter or default_limiter()
        self._lock = threading.RLock()
        self._last_tickle = float("-inf")

    # ---- raw ----------------------------------------------------------------------------------------------------
    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request through the shared pacing limiter, no redirects followed (a redirect to ``/sso/Login``
        means "no session"). Raises RateLimited when the limiter holds requests back after a 429."""
        with self._lock, self.limiter.slot(method, path, max_pause=MAX_PAUSE):
            try:
                r = self.session.request(method, self.api_base + path, timeout=self.timeout, allow_redirects=False,
                                         **kwargs)
            except OSError as exc:
                if type(exc) is OSError and "CA certificate bundle" in str(exc):  # requests' own errors subclass it
                    raise ConfigurationError(
                        f"IBKR_VERIFY_SSL points to {kwargs.get('verify', self.session.verify)}, which does not "
                        "exist. Give the gateway's certificate (or CA bundle) path, true for the system's CAs, or "
                        "false to skip verification.") from None
                raise
        if r.status_code == 429:  # hold the whole process back, as the client's transport does
            try:
                wait = float(r.headers.get("Retry-After", ""))
            except ValueError:  # IBKR's 429 names no Retry-After: its penalty box
                wait = PENALTY_SECONDS
            self.limiter.pause(wait)
        return r

    def tickle_response(self, **kwargs: Any) -> requests.Response:
        """``POST /tickle``, waiting first if the previous tickle ended less than 1.1 s ago (``kwargs`` go to
        ``requests``, e.g. ``verify=False`` to identify a listener whose certificate is not here)."""
        with self._lock:
            wait = self._last_tickle + TICKLE_MIN_INTERVAL - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            try:
                return self.send("POST", "/tickle", **kwargs)
            finally:
                self._last_tickle = time.monotonic()

    # ---- the manager's calls ------------------------------------------------------------------------------------
    def tickle(self) -> Probe:
        try:
            return parse_tickle(self.tickle_response())
        except RateLimited as exc:
            return Probe(None, f"held back by the pacing limiter after a 429 ({exc.retry_after or 0:.0f} s left)")
        except requests.RequestException as exc:
            return probe_failure(exc)

    def init_brokerage(self, compete: bool) -> Probe:
        """``POST /iserver/auth/ssodh/init {"publish": true, "compete": ...}``: (re)open the brokerage session."""
        try:
            r = self.send("POST", "/iserver/auth/ssodh/init", json={"publish": True, "compete": compete})
            if r.status_code == 404:  # an older gateway: the legacy endpoint does the same without compete
                log.info("ssodh/init is not known to this gateway; using the legacy /iserver/reauthenticate")
                r = self.send("POST", "/iserver/reauthenticate")
                if r.status_code == 200:
                    return Probe(None, "HTTP 200 reauthenticate: triggered", status_code=200)
        except RateLimited:
            return Probe(None, "ssodh/init held back by the pacing limiter after a 429")
        except requests.RequestException as exc:
            return probe_failure(exc)
        return self._auth_status_probe(r, "ssodh/init")

    def auth_status(self) -> Probe:
        """``POST /iserver/auth/status``: the brokerage session's flags with IBKR's ``fail`` text, which the
        tickle's ``authStatus`` leaves out (it tells "held by another platform" from "not open yet")."""
        try:
            r = self.send("POST", "/iserver/auth/status")
        except RateLimited:
            return Probe(None, "auth/status held back by the pacing limiter after a 429")
        except requests.RequestException as exc:
            return probe_failure(exc)
        return self._auth_status_probe(r, "auth/status")

    def prime_accounts(self) -> bool:
        """``GET /iserver/accounts``: IBKR requires it after every (re)authentication before other /iserver calls."""
        try:
            r = self.send("GET", "/iserver/accounts")
        except FAILURES as exc:
            log.warning("priming /iserver/accounts failed: %s", type(exc).__name__)
            return False
        if r.status_code != 200:
            log.warning("priming /iserver/accounts answered HTTP %s", r.status_code)
            return False
        return True

    def validate_sso(self) -> dict[str, Any] | None:
        """``GET /sso/validate`` when the pacing limiter has a slot for it now (IBKR: 1 per minute, for this
        process and, through the limiter's saved state, the one before it); None when skipped or failed. It is
        skipped rather than waited for: the keep-alive must not sit a minute on it."""
        with self._lock:
            if self.limiter.ready_in("GET", "/sso/validate") > 0:
                return None
            try:
                r = self.send("GET", "/sso/validate")
                body = r.json() if r.status_code == 200 else None
            except (*FAILURES, ValueError) as exc:
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
        except FAILURES as exc:
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
