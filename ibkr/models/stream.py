"""Messages of the gateway's websocket (``/v1/api/ws``, docs/cpapi.md section 5.3) that have no REST twin.

The topics that do reuse the REST models: ``spl`` rows are :class:`~ibkr.models.balances.PnlRow`, ``sor`` orders
:class:`~ibkr.models.trading.Order`, ``str`` executions :class:`~ibkr.models.trading.Trade`. ``smd`` updates are
snapshot elements with a topic (:class:`MarketDataUpdate`): only the fields that changed since the last update.
"""

from __future__ import annotations

from pydantic import Field

from ibkr.models._base import Bool, IbkrModel, Str
from ibkr.models.marketdata import Snapshot


class StreamStatus(IbkrModel):
    """``{"topic": "sts", "args": {...}}``: the brokerage session as the gateway sees it, on connect and on every
    change (a competing session, the session dropped or reopened)."""

    authenticated: Bool = None
    competing: Bool = None
    connected: Bool = None
    message: Str = None
    fail: Str = None
    username: Str = None
    server_name: Str = Field(None, alias="serverName")


class MarketDataUpdate(Snapshot):
    """``{"topic": "smd+<conid>", "conid": ..., "31": "228.50", ...}``: the field codes that changed, as strings."""

    topic: Str = None


class Notification(IbkrModel):
    """``ntf`` (a trading notice) or ``blt`` (a bulletin): ``id`` and its text."""

    id: Str = None
    text: Str = None
    title: Str = None
    message: Str = None
    url: Str = None
