"""Account endpoints: account lists, switching, summary, ledger, allocation and daily P&L."""

from __future__ import annotations

import logging

from ibkr.endpoints._base import EndpointGroup, ibkr_endpoint
from ibkr.models import (
    Account,
    AccountSummary,
    AccountSwitch,
    Allocation,
    IserverAccounts,
    Ledger,
    PartitionedPnl,
    SubaccountsPage,
)

log = logging.getLogger(__name__)
PORTFOLIO = "Trading Portfolio"
ACCOUNTS = "Trading Accounts"


class AccountEndpoints(EndpointGroup):
    """IBKR's "Accounts" and the account-level part of "Portfolio" (docs/cpapi.md section 2)."""

    pnl_poll_interval: float = 1.0

    @ibkr_endpoint("GET", "/portfolio/accounts", PORTFOLIO)
    def portfolio_accounts(self) -> list[Account]:
        """The accounts whose positions and balances this session can read (primes ``/portfolio/*``).

        Paced to one call per 5.5 s.
        """
        return self._get(list[Account], "/portfolio/accounts")

    @ibkr_endpoint("GET", "/portfolio/subaccounts", PORTFOLIO)
    def portfolio_subaccounts(self) -> list[Account]:
        """The sub-accounts of an advisor (FA) or IBroker structure, up to 100. Paced to one call per 5.5 s."""
        return self._get(list[Account], "/portfolio/subaccounts")

    @ibkr_endpoint("GET", "/portfolio/subaccounts2", PORTFOLIO)
    def portfolio_subaccounts_page(self, page: int = 0) -> SubaccountsPage:
        """One page (20, 0-based) of the sub-accounts of a large advisor structure (more than 100 sub-accounts).

        IBKR CPAPI v1 docs, /portfolio/subaccounts2 require ``page`` (the IBKR OpenAPI spec lists ``accountId`` and
        ``nocache`` instead). A page lists, and primes, its accounts. Paced to one call per 5.5 s.
        """
        return self._get(SubaccountsPage, "/portfolio/subaccounts2", {"page": page})

    @ibkr_endpoint("GET", "/iserver/accounts", ACCOUNTS)
    def iserver_accounts(self) -> IserverAccounts:
        """The accounts this brokerage session can trade; also primes ``/iserver/*`` (orders, market data).

        A competing or half-open session answers ``{}`` (no accounts).
        """
        accounts = self._get(IserverAccounts, "/iserver/accounts")
        self._iserver_accounts = accounts
        return accounts

    @ibkr_endpoint("POST", "/iserver/account", ACCOUNTS)
    def switch_account(self, account_id: str) -> AccountSwitch:
        """Select the active account of a multi-account (FA) login: ``{"acctId": account_id}``."""
        return self._post(AccountSwitch, "/iserver/account", {"acctId": account_id}, idempotent=True)

    @ibkr_endpoint("GET", "/portfolio/{accountId}/meta", PORTFOLIO)
    def account_meta(self, account_id: str) -> Account:
        """One account's attributes (same fields as :meth:`portfolio_accounts`)."""
        return self._get(Account, f"/portfolio/{account_id}/meta")

    @ibkr_endpoint("GET", "/portfolio/{accountId}/summary", PORTFOLIO)
    def account_summary(self, account_id: str) -> AccountSummary:
        """Balances and margin: net liquidation, margin requirements, excess liquidity, cushion, look-ahead."""
        return self._get(AccountSummary, f"/portfolio/{account_id}/summary")

    @ibkr_endpoint("GET", "/portfolio/{accountId}/ledger", PORTFOLIO)
    def ledger(self, account_id: str) -> Ledger:
        """Cash and values per currency, plus ``BASE`` (the base-currency totals) and exchange rates."""
        return self._get(Ledger, f"/portfolio/{account_id}/ledger")

    @ibkr_endpoint("GET", "/portfolio/{accountId}/allocation", PORTFOLIO)
    def allocation(self, account_id: str) -> Allocation:
        """Long and short value by asset class, industry group and sector, in base currency."""
        return self._get(Allocation, f"/portfolio/{account_id}/allocation")

    @ibkr_endpoint("GET", "/iserver/account/pnl/partitioned", ACCOUNTS)
    def pnl_partitioned(self) -> PartitionedPnl:
        """Daily P&L, net liquidation and excess liquidity per account (``"<acctId>.Core"`` rows).

        The first call of a session answers ``{"upnl": {}}``; then it asks once more (the pacing limiter spaces
        the two calls 5.5 s apart, IBKR's limit being one call per 5 s).
        """
        pnl = self._get(PartitionedPnl, "/iserver/account/pnl/partitioned")
        if pnl.is_empty:
            log.debug("pnl/partitioned answered empty (first call of the session); asking again")
            self._sleep(self.pnl_poll_interval)
            pnl = self._get(PartitionedPnl, "/iserver/account/pnl/partitioned")
        return pnl

    def tradable_account_ids(self, refresh: bool = False) -> list[str]:
        """The account ids of :meth:`iserver_accounts`, cached for this brokerage session. Callers that ask at
        once (the live-orders and trades readers starting together) share one read: each used to send its own."""
        with self._accounts_lock:
            if refresh or self._iserver_accounts is None:
                self.iserver_accounts()
            return list(self._iserver_accounts.accounts) if self._iserver_accounts else []
