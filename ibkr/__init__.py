"""IBKR Desk's library for Interactive Brokers' Client Portal Web API. It never imports streamlit."""

from ibkr.config import GatewayMode, Settings
from ibkr.errors import (
    AccessDenied,
    CompetingSession,
    ConfigurationError,
    GatewayBusy,
    GatewayUnavailable,
    IbkrError,
    InvalidResponse,
    NotAuthenticated,
    OrderError,
    OrderRejected,
    OrderStatusUnknown,
    OrderValidationError,
    RateLimited,
    RequestRejected,
    UnknownAccount,
)

__all__ = [
    "AccessDenied",
    "CompetingSession",
    "ConfigurationError",
    "GatewayBusy",
    "GatewayMode",
    "GatewayUnavailable",
    "IbkrError",
    "InvalidResponse",
    "NotAuthenticated",
    "OrderError",
    "OrderRejected",
    "OrderStatusUnknown",
    "OrderValidationError",
    "RateLimited",
    "RequestRejected",
    "Settings",
    "UnknownAccount",
]
