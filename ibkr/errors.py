"""The one exception tree of the ``ibkr`` library.

Every error carries keyword context (``status``, ``endpoint``, ``body``) and a message that tells the
user what to do next::

    IbkrError
    ├── ConfigurationError        settings that cannot work (bad gateway dir, no Java, port taken)
    ├── GatewayUnavailable        nothing answers, the connection dropped, or a timeout
    │   └── GatewayBusy           500/503: IBKR's backend is restarting or not ready (transient)
    ├── NotAuthenticated          no session, 401, 302 to the login page: someone must log in
    │   ├── BrokerageSessionMissing  "no bridge": logged in, the brokerage session is not open
    │   └── CompetingSession      another platform holds the brokerage session
    ├── AccessDenied              the gateway's ips.allow rejects this machine
    ├── PermissionDenied          the person's role (viewer, trader, admin) does not allow the action
    ├── AuditUnavailable          the audit log could not be written, so the action was not taken
    ├── InvalidResponse           the gateway answered something that is not the JSON we expect
    ├── RateLimited               429: IBKR's pacing limit was hit; wait before retrying
    ├── RequestRejected           400/404, and 5xx that mean the same every time (never retried)
    │   └── UnknownAccount        an account id the session does not know
    └── OrderError
        ├── OrderValidationError  a ticket that is wrong before anything is sent
        ├── OrderRejected         IBKR refused the order
        │   └── ReplyExpired      IBKR cancelled it: its question was not answered at once
        └── OrderStatusUnknown    the placement request failed mid-way; look at live orders
"""

from __future__ import annotations

from typing import Any


class IbkrError(Exception):
    """Base of every error raised by this library."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        endpoint: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.endpoint = endpoint
        self.body = body

    def __str__(self) -> str:
        where = f" [{self.endpoint}" + (f" -> HTTP {self.status}" if self.status else "") + "]" if self.endpoint else ""
        return f"{self.message}{where}"


class ConfigurationError(IbkrError):
    """The settings cannot work as given."""


class GatewayUnavailable(IbkrError):
    """The gateway did not answer: not running, connection dropped, or timed out."""


class GatewayBusy(GatewayUnavailable):
    """The gateway answered 500/502/503: IBKR's side is restarting or not ready. Usually transient."""


class NotAuthenticated(IbkrError):
    """There is no authenticated session; a person must log in (or the brokerage session must be initialised)."""


class BrokerageSessionMissing(NotAuthenticated):
    """The login is valid but the brokerage session is not open (IBKR's "no bridge"): nobody needs to log in;
    the gateway opens it by itself after a login, or another platform holds it (take over to trade here)."""


class CompetingSession(NotAuthenticated):
    """Another platform (TWS, Mobile, Client Portal) holds this username's brokerage session."""


class AccessDenied(IbkrError):
    """The gateway refused this machine's IP address (its conf.yaml ips.allow)."""


class PermissionDenied(IbkrError):
    """The acting person's role does not allow the action; nothing was sent (``ibkr.audit``)."""


class AuditUnavailable(IbkrError):
    """The audit log could not be written, so the action was not taken (``ibkr.audit``)."""


class InvalidResponse(IbkrError):
    """The gateway answered with something that is not the JSON this endpoint returns."""


class RateLimited(IbkrError):
    """IBKR answered 429 Too Many Requests and the retry budget is spent."""

    def __init__(self, message: str, *, retry_after: float | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class RequestRejected(IbkrError):
    """The gateway rejected the request (4xx) and said why."""


class UnknownAccount(RequestRejected):
    """The account id is not one this session can see."""


class OrderError(IbkrError):
    """Base of order errors."""


class OrderValidationError(OrderError, ValueError):
    """The order ticket is invalid; nothing was sent."""


class OrderRejected(OrderError):
    """IBKR refused the order; nothing was placed."""


class ReplyExpired(OrderRejected):
    """IBKR cancelled an order that waited for an answer to its question: the answer came too late, or another
    order request came first (IBKR: "Submitting other orders or other requests will cancel the order"). The page
    looked for the order's cOID among the live orders and did not find it: nothing was placed."""


class OrderStatusUnknown(OrderError):
    """The placement request failed before an answer arrived and the order was not found among live orders.

    Check the live orders (or TWS) before placing it again.
    """

    def __init__(self, message: str, *, coid: str | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.coid = coid
