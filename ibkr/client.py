"""``ClientPortalClient``: one method per Client Portal API endpoint, returning models.

    from ibkr import ClientPortalClient, Settings

    with ClientPortalClient(Settings(gateway_url="https://localhost:5000", verify_ssl=False)) as client:
        client.tickle()
        for position in client.all_positions():
            print(position.acct_id, position.symbol, position.mkt_value, position.currency)

Methods are grouped as IBKR's docs group them (each group is a module of :mod:`ibkr.endpoints`):

- session: tickle, auth_status, init_brokerage_session, reauthenticate, logout, sso_validate
- accounts: portfolio_accounts, portfolio_subaccounts, portfolio_subaccounts_page, iserver_accounts,
  switch_account, account_meta, account_summary, ledger, allocation, pnl_partitioned
- portfolio: positions_page, portfolio2_positions, position, positions_by_conid, invalidate_positions,
  all_positions
- contracts: secdef_search, secdef_strikes, secdef_info, stocks_by_symbol, futures_by_symbol,
  secdef_by_conid, contract_info, currency_pairs, resolve_conid
- market data: marketdata_snapshot, snapshot (preflight handled), history, unsubscribe, unsubscribe_all
- orders: place_order, confirm, reject, whatif, modify, cancel, live_orders, order_status, trades,
  suppress_questions

Every request goes through :class:`ibkr.transport.Transport` (pacing, retries, error mapping).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from ibkr.config import Settings
from ibkr.endpoints.marketdata import MarketDataEndpoints
from ibkr.endpoints.positions import PositionEndpoints
from ibkr.endpoints.session import SessionEndpoints
from ibkr.endpoints.trading import TradingEndpoints
from ibkr.pacing import PacingLimiter
from ibkr.transport import Transport

__all__ = ["ClientPortalClient"]


class ClientPortalClient(SessionEndpoints, PositionEndpoints, TradingEndpoints, MarketDataEndpoints):
    """A typed client for one gateway. Thread-safe; share one per process (e.g. ``st.cache_resource``).

    ``transport`` replaces the default :class:`Transport` (tests); ``limiter`` replaces the process-wide pacing
    limiter; ``sleep`` is used for the short waits between polls (preflight snapshots, first-call-empty P&L).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: Transport | None = None,
        limiter: PacingLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings or (transport.settings if transport else Settings())
        self._transport = transport or Transport(self.settings, limiter=limiter)
        self._sleep = sleep
        self._iserver_accounts = None
        self._accounts_lock = threading.Lock()
        self._placed: dict[str, object] = {}

    @property
    def transport(self) -> Transport:
        return self._transport

    @property
    def closed(self) -> bool:
        return self._transport.closed

    def close(self) -> None:
        """Close the HTTP session. Safe to call more than once."""
        self._transport.close()

    def __enter__(self) -> ClientPortalClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<ClientPortalClient {self._transport.base_url} ({state})>"
