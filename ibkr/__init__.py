"""IBKR Desk's library for Interactive Brokers' Client Portal Web API. It never imports streamlit.

    from ibkr import ClientPortalClient, GatewayManager, Settings, StockOrder

The names below are loaded on first use (PEP 562), so ``import ibkr.config`` costs only the settings: the
simulator (``ibkr_sim``) reads its settings from there without loading the client and its models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "AccessDenied": "ibkr.errors",
    "AuthState": "ibkr.gateway",
    "BondOrder": "ibkr.orders",
    "ClientPortalClient": "ibkr.client",
    "CompetingSession": "ibkr.errors",
    "BrokerageSessionMissing": "ibkr.errors",
    "ConfigurationError": "ibkr.errors",
    "ConidOrder": "ibkr.orders",
    "CryptoOrder": "ibkr.orders",
    "ForexOrder": "ibkr.orders",
    "FutureOrder": "ibkr.orders",
    "GatewayBusy": "ibkr.errors",
    "GatewayManager": "ibkr.gateway",
    "GatewayMode": "ibkr.config",
    "GatewayStatus": "ibkr.gateway",
    "GatewayUnavailable": "ibkr.errors",
    "IbkrError": "ibkr.errors",
    "InvalidResponse": "ibkr.errors",
    "LIMITER": "ibkr.pacing",
    "NotAuthenticated": "ibkr.errors",
    "OptionOrder": "ibkr.orders",
    "OrderAccepted": "ibkr.models",
    "OrderError": "ibkr.errors",
    "OrderRejected": "ibkr.errors",
    "OrderStatusUnknown": "ibkr.errors",
    "ReplyExpired": "ibkr.errors",
    "OrderType": "ibkr.orders",
    "OrderValidationError": "ibkr.errors",
    "PendingConfirmation": "ibkr.models",
    "Position": "ibkr.models",
    "Prompt": "ibkr.gateway",
    "PromptAction": "ibkr.gateway",
    "PromptKind": "ibkr.gateway",
    "RateLimited": "ibkr.errors",
    "RequestRejected": "ibkr.errors",
    "Settings": "ibkr.config",
    "SimSettings": "ibkr.config",
    "Side": "ibkr.orders",
    "StockOrder": "ibkr.orders",
    "TimeInForce": "ibkr.orders",
    "UnknownAccount": "ibkr.errors",
}
__all__ = [
    "AccessDenied",
    "AuthState",
    "BondOrder",
    "ClientPortalClient",
    "CompetingSession",
    "BrokerageSessionMissing",
    "ConfigurationError",
    "ConidOrder",
    "CryptoOrder",
    "ForexOrder",
    "FutureOrder",
    "GatewayBusy",
    "GatewayManager",
    "GatewayMode",
    "GatewayStatus",
    "GatewayUnavailable",
    "IbkrError",
    "InvalidResponse",
    "LIMITER",
    "NotAuthenticated",
    "OptionOrder",
    "OrderAccepted",
    "OrderError",
    "OrderRejected",
    "OrderStatusUnknown",
    "ReplyExpired",
    "OrderType",
    "OrderValidationError",
    "PendingConfirmation",
    "Position",
    "Prompt",
    "PromptAction",
    "PromptKind",
    "RateLimited",
    "RequestRejected",
    "Settings",
    "SimSettings",
    "Side",
    "StockOrder",
    "TimeInForce",
    "UnknownAccount",
]

if TYPE_CHECKING:
    from ibkr.client import ClientPortalClient
    from ibkr.config import GatewayMode, Settings, SimSettings
    from ibkr.errors import (
        AccessDenied,
        BrokerageSessionMissing,
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
        ReplyExpired,
        RequestRejected,
        UnknownAccount,
    )
    from ibkr.gateway import AuthState, GatewayManager, GatewayStatus, Prompt, PromptAction, PromptKind
    from ibkr.models import OrderAccepted, PendingConfirmation, Position
    from ibkr.orders import (
        BondOrder,
        ConidOrder,
        CryptoOrder,
        ForexOrder,
        FutureOrder,
        OptionOrder,
        OrderType,
        Side,
        StockOrder,
        TimeInForce,
    )
    from ibkr.pacing import LIMITER


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ibkr' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
