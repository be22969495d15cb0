"""Session models: auth status, tickle, SSO validation, logout (docs/cpapi.md section 1)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ibkr.models._base import Bool, IbkrModel, Int, Str


class ServerInfo(IbkrModel):
    server_name: Str = Field(None, alias="serverName")
    server_version: Str = Field(None, alias="serverVersion")


class AuthStatus(IbkrModel):
    """``/iserver/auth/status`` (also the answer of ``ssodh/init`` and ``reauthenticate``)."""

    authenticated: bool = False
    competing: bool = False
    connected: bool = False
    established: Bool = None
    message: Str = None
    fail: Str = None
    mac: Str = Field(None, alias="MAC", repr=False)
    hardware_info: Str = Field(None, repr=False)
    server_info: ServerInfo | None = Field(None, alias="serverInfo")
    prompts: list[str] = Field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Authenticated, connected and not competing (ibind's definition)."""
        return self.authenticated and self.connected and not self.competing


class IserverStatus(IbkrModel):
    auth_status: AuthStatus | None = Field(None, alias="authStatus")


class TickleResponse(IbkrModel):
    """``POST /tickle``: the success shape, or ``{"error": "failed to process request"}``.

    ``session`` is a session token: it is kept out of ``repr`` so it never lands in a log line.
    """

    session: Str = Field(None, repr=False)
    sso_expires: Int = Field(None, alias="ssoExpires", description="milliseconds until the SSO session expires")
    collision: Bool = Field(None, alias="collission")
    user_id: Int = Field(None, alias="userId")
    hmds: dict[str, Any] | None = None
    iserver: IserverStatus | None = None
    error: Str = None

    @property
    def auth_status(self) -> AuthStatus | None:
        """``iserver.authStatus``, or None when the gateway did not include it."""
        return self.iserver.auth_status if self.iserver else None

    @property
    def ok(self) -> bool:
        return self.error is None


class SsoFeatures(IbkrModel):
    bond: Bool = None
    calendar: Bool = None
    env: Str = None
    new_mf: Bool = Field(None, alias="newMf")
    option_chains: Bool = Field(None, alias="optionChains")
    realtime: Bool = None
    wlms: Bool = None


class SsoValidation(IbkrModel):
    """``GET /sso/validate``. ``expires`` is milliseconds until the SSO session expires; login type 2 = paper."""

    user_id: Int = Field(None, alias="USER_ID")
    user_name: Str = Field(None, alias="USER_NAME")
    result: bool = Field(False, alias="RESULT")
    auth_time: Int = Field(None, alias="AUTH_TIME")
    expires: Int = Field(None, alias="EXPIRES")
    last_accessed: Int = Field(None, alias="lastAccessed")
    login_type: Int = Field(None, alias="LOGIN_TYPE")
    paper_user_name: Str = Field(None, alias="PAPER_USER_NAME")
    credential: Str = Field(None, alias="CREDENTIAL", repr=False)
    ip: Str = Field(None, alias="IP", repr=False)
    is_master: Bool = Field(None, alias="IS_MASTER")
    is_free_trial: Bool = Field(None, alias="IS_FREE_TRIAL")
    qualified_for_mobile_auth: Bool = Field(None, alias="QUALIFIED_FOR_MOBILE_AUTH")
    sf_enabled: Bool = Field(None, alias="SF_ENABLED")
    landing_app: Str = Field(None, alias="LANDING_APP")
    region: Str = None
    features: SsoFeatures | None = None

    @property
    def is_paper(self) -> bool:
        return self.login_type == 2


class LogoutResponse(IbkrModel):
    """``POST /logout``: ``{"status": true}`` (current spec) or ``{"confirmed": ...}`` (legacy)."""

    status: Bool = None
    confirmed: Bool = None


class LiveSessionToken(IbkrModel):
    """``POST /oauth/live_session_token`` (OAuth 1.0a; not used with the gateway). Secrets stay out of repr."""

    diffie_hellman_response: Str = Field(None, repr=False)
    live_session_token_expiration: Int = None
    live_session_token_signature: Str = Field(None, repr=False)
