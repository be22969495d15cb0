"""One consistent read of every account: positions, balances, ledgers and daily P&L, fetched together.

The dashboard caches a :class:`PortfolioSnapshot` and hands it to :mod:`ibkr.analytics`; tests compare it with the
simulator's truth. No Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ibkr.errors import IbkrError, NotAuthenticated, RateLimited
from ibkr.models import Account, AccountSummary, Ledger, PartitionedPnl, Position

if TYPE_CHECKING:
    from ibkr.client import ClientPortalClient

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PortfolioSnapshot:
    as_of: dt.datetime
    accounts: list[Account]
    positions: list[Position]
    summaries: dict[str, AccountSummary]
    ledgers: dict[str, Ledger]
    pnl: PartitionedPnl | None = None  # daily P&L rows keyed "<account>.Core"
    warnings: tuple[str, ...] = ()

    @property
    def account_ids(self) -> list[str]:
        return [a.account_id for a in self.accounts]

    @property
    def base_currency(self) -> dict[str, str]:
        return {a.account_id: a.currency for a in self.accounts if a.currency}

    def only(self, account_ids: list[str]) -> PortfolioSnapshot:
        """The same snapshot restricted to some accounts."""
        keep = set(account_ids)
        return PortfolioSnapshot(
            self.as_of, [a for a in self.accounts if a.account_id in keep],
            [p for p in self.positions if p.acct_id in keep],
            {k: v for k, v in self.summaries.items() if k in keep},
            {k: v for k, v in self.ledgers.items() if k in keep},
            self.pnl, self.warnings)


def load_portfolio(client: ClientPortalClient, fresh: bool = False, paged: bool = False,
                   streamed_pnl: Callable[[], PartitionedPnl | None] | None = None) -> PortfolioSnapshot:
    """Read every account's positions, summary, ledger and daily P&L.

    Positions come from ``/portfolio2`` (one uncached call per account; a fill shows at once) completed from
    ``/trsrv/secdef`` (``ClientPortalClient.current_positions``): at 3 x 5,000 positions a refresh costs a
    handful of calls instead of 150 pages. ``paged=True`` reads the cached, paged endpoint instead (all pages;
    ``fresh=True`` invalidates IBKR's cache first), field for field the same positions. Daily P&L comes from ``/iserver`` and needs the
    brokerage session; when it is not available the snapshot carries a warning instead of failing. While
    ``streamed_pnl()`` answers (the websocket's ``spl`` rows, ``ibkr.live``), it is not read over REST at all.
    """
    accounts = client.position_accounts()  # an advisor's sub-accounts included
    ids = [a.account_id for a in accounts]
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="ibkr-snapshot") as pool:
        streamed = streamed_pnl() if streamed_pnl is not None else None
        pnl_future = pool.submit(client.pnl_partitioned) if streamed is None else None
        summaries = {a: pool.submit(client.account_summary, a) for a in ids}
        ledgers = {a: pool.submit(client.ledger, a) for a in ids}
        positions = client.all_positions(ids, fresh=fresh) if paged or fresh else client.current_positions(ids)
        warnings: list[str] = []
        summaries_done = _each_account(summaries, "balances and margin (summary)", warnings)
        ledgers_done = _each_account(ledgers, "cash balances (ledger)", warnings)
        try:
            pnl: PartitionedPnl | None = pnl_future.result() if pnl_future is not None else streamed
        except IbkrError as exc:
            log.warning("daily P&L unavailable: %s", exc)
            pnl = None
            warnings.append(f"Daily P&L is unavailable: {exc.message}")
    return PortfolioSnapshot(dt.datetime.now(dt.UTC), accounts, positions, summaries_done, ledgers_done, pnl,
                             tuple(warnings))


def _each_account(futures: dict[str, Future[T]], what: str, warnings: list[str]) -> dict[str, T]:
    """Each account's answer; an account whose read failed is left out with a warning naming it, so one closed
    account or an advisor master without a ledger does not take the others off the page. A failure of every
    account, a missing session and IBKR's pacing penalty fail the whole read (the last good one is kept)."""
    done: dict[str, T] = {}
    failed: list[IbkrError] = []
    for account, future in futures.items():
        try:
            done[account] = future.result()
        except (NotAuthenticated, RateLimited):
            raise
        except IbkrError as exc:
            log.warning("%s of %s unavailable: %s", what, account, exc)
            failed.append(exc)
            warnings.append(f"Account {account}: its {what} could not be read ({exc.message}); it is shown "
                            "without them.")
    if failed and not done:
        raise failed[0]
    return done
