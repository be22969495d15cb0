"""The gateway's session as IBKR runs it: an SSO session from the browser login, a brokerage session inside it,
an idle timeout, competing sessions, and the "query /accounts first" priming rules.

One gateway holds one session for one username, whoever calls the API (as the real Client Portal Gateway does).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

FORCE_COMPETE = "Force compete capability must be used together with compete flag"
SERVER_INFO = {"serverName": "SimGW01", "serverVersion": "Build 10.30.1s, Nov 24, 2026 9:00:00 AM"}
USER_ID = 43210987
MAC = "98:F2:B3:23:BF:A0"
HARDWARE_INFO = "21026956|98:F2:B3:23:BF:A0"


@dataclass
class Session:
    idle_timeout: float = 300.0
    user: str = "demo"
    password: str = "demo"
    sso: bool = False
    authenticated: bool = False
    connected: bool = False
    competing: bool = False
    held_elsewhere: bool = False  # another platform (TWS, Mobile) holds the brokerage session
    established: bool = False
    primed_iserver: bool = False
    primed_portfolio: bool = False
    listed_subaccounts: set[str] = field(default_factory=set)  # an advisor's sub-accounts listed this session
    fail: str = ""
    token: str = ""
    auth_time_ms: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    pending_2fa: dict[str, str] = field(default_factory=dict)  # login ticket -> expected code
    suppressed: set[str] = field(default_factory=set)
    selected_account: str | None = None
    # How the gateway answers a request without a session: "401" (401 {"error": "no session"}, IBEAM
    # http_handler.py), "302" (a redirect to /sso/Login, BEZANT CHANGELOG: auth/status "302s to /sso/Login") or
    # "200" (200 {"error": "no session"}, IBEAM). Real gateways use each; POST /sim/session {"no_session": ...}.
    no_session_shape: str = "401"
    # Position rows without their security definition even with waitForSecDef=true (POST /sim/session
    # {"incomplete_secdef": true}); without waitForSecDef they always may be.
    incomplete_secdef: bool = False
    events: list[str] = field(default_factory=list)

    # ---- lifecycle --------------------------------------------------------------------------------------------
    def expire_if_idle(self) -> None:
        if self.sso and time.monotonic() - self.last_activity > self.idle_timeout:
            self.end("idle timeout")

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def login(self) -> None:
        """The browser login (with 2FA) succeeded: SSO and brokerage sessions are up, nothing is primed."""
        self.sso = self.authenticated = self.connected = self.established = True
        self.competing = self.held_elsewhere = False
        self.primed_iserver = self.primed_portfolio = False
        self.listed_subaccounts.clear()
        self.fail = ""
        self.token = secrets.token_hex(16)
        self.auth_time_ms = int(time.time() * 1000)
        self.suppressed.clear()
        self.touch()
        self.events.append("login")

    def end(self, why: str) -> None:
        self.sso = self.authenticated = self.connected = self.established = self.competing = False
        self.held_elsewhere = False
        self.primed_iserver = self.primed_portfolio = False
        self.listed_subaccounts.clear()
        self.token = ""
        self.suppressed.clear()
        self.events.append(f"session ended: {why}")

    def compete(self) -> None:
        """Someone logged in to TWS / Mobile / Client Portal with the same username."""
        if self.sso:
            self.competing = self.held_elsewhere = True
            self.authenticated = self.established = False
            self.primed_iserver = False
            self.fail = ""
            self.events.append("competing session")

    def drop_brokerage(self) -> None:
        """The brokerage session dropped (nightly reset, network blip) while SSO stays valid."""
        if self.sso:
            self.authenticated = self.established = False
            self.primed_iserver = False
            self.events.append("brokerage session dropped")

    def init_brokerage(self, compete: bool) -> None:
        """``POST /iserver/auth/ssodh/init``: (re)open the brokerage session, kicking a competitor when asked.

        Without ``compete`` while another platform holds the session, IBKR refuses and from then on reports
        ``{"authenticated": false, "competing": false, "connected": true, "fail": "Force compete capability must
        be used together with compete flag"}`` (ibeam issue #73): not "competing" any more, yet still held
        elsewhere. A client that read that as "just not connected" and forced compete would disconnect the
        trader's TWS without asking (docs/cpapi.md, REAL-GATEWAY 2.1)."""
        if self.held_elsewhere and not compete:
            self.fail = FORCE_COMPETE
            self.competing = False
            return
        self.competing = self.held_elsewhere = False
        self.authenticated = self.connected = self.established = True
        self.primed_iserver = False
        self.fail = ""
        self.events.append("brokerage session initialised")

    # ---- views ------------------------------------------------------------------------------------------------
    def sso_expires_ms(self) -> int:
        left = self.idle_timeout - (time.monotonic() - self.last_activity)
        return max(0, int(left * 1000))

    def auth_status(self, with_hardware: bool = True) -> dict:
        out = {
            "authenticated": self.authenticated, "competing": self.competing, "connected": self.connected,
            "established": self.established, "message": "", "MAC": MAC, "fail": self.fail,
            "serverInfo": dict(SERVER_INFO),
        }
        if with_hardware:
            out["hardware_info"] = HARDWARE_INFO
        return out
