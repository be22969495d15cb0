"""Session endpoints: tickle, auth status, brokerage session init, reauthenticate, logout, SSO validate."""

from __future__ import annotations

import logging

from ibkr.endpoints._base import ibkr_endpoint, parse_as
from ibkr.endpoints.accounts import AccountEndpoints
from ibkr.errors import IbkrError, RequestRejected
from ibkr.models import AuthStatus, LogoutResponse, SsoValidation, TickleResponse

log = logging.getLogger(__name__)
TAG = "Trading Session"


class SessionEndpoints(AccountEndpoints):
    """IBKR's "Session" group (docs/cpapi.md section 1)."""

    @ibkr_endpoint("POST", "/tickle", TAG)
    def tickle(self) -> TickleResponse:
        """Keep the session alive (call it about every 60 s) and read its status (``iserver.authStatus``).

        Raises NotAuthenticated on 401 or ``{"error": "no session"}``.
        """
        return self._post(TickleResponse, "/tickle", idempotent=True)

    @ibkr_endpoint("POST", "/iserver/auth/status", TAG)
    def auth_status(self) -> AuthStatus:
        """The brokerage session's state; asks with GET if the gateway refuses the POST (4xx)."""
        try:
            data = self._transport.post("/iserver/auth/status", idempotent=True)
        except RequestRejected:
            log.info("POST /iserver/auth/status was refused; asking with GET")
            data = self._transport.get("/iserver/auth/status")
        return parse_as(AuthStatus, data, "/iserver/auth/status")

    @ibkr_endpoint("POST", "/iserver/auth/ssodh/init", TAG)
    def init_brokerage_session(self, *, publish: bool = True, compete: bool = True) -> AuthStatus:
        """Open (or take over) the brokerage session with ``{"publish": ..., "compete": ...}``.

        ``compete=True`` disconnects this username's other brokerage sessions (TWS, Mobile). When the answer is
        authenticated, ``/iserver/accounts`` is queried to prime the session.
        """
        body = {"publish": publish, "compete": compete}
        status = self._post(AuthStatus, "/iserver/auth/ssodh/init", body, idempotent=True)
        self._prime_after(status)
        return status

    @ibkr_endpoint("POST", "/iserver/reauthenticate", TAG)
    def reauthenticate(self) -> AuthStatus:
        """Re-authenticate the brokerage session (legacy; prefer :meth:`init_brokerage_session`)."""
        status = self._post(AuthStatus, "/iserver/reauthenticate", idempotent=True)
        self._prime_after(status)
        return status

    @ibkr_endpoint("POST", "/logout", TAG)
    def logout(self) -> LogoutResponse:
        """End the gateway session; a person must log in again afterwards."""
        result = self._post(LogoutResponse, "/logout", idempotent=True)
        self._after_reauthentication()
        return result

    @ibkr_endpoint("GET", "/sso/validate", TAG)
    def sso_validate(self) -> SsoValidation:
        """The SSO (read-only) session: user, expiry, live or paper. Paced to one call a minute."""
        return self._get(SsoValidation, "/sso/validate")

    def _prime_after(self, status: AuthStatus) -> None:
        self._after_reauthentication()
        if not status.authenticated:
            return
        try:
            self.iserver_accounts()
        except IbkrError as exc:
            log.info("could not prime /iserver/accounts after (re)authentication: %s", exc.message)
