"""Position endpoints and :meth:`PositionEndpoints.all_positions`, which pages every account in parallel."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from ibkr.endpoints._base import ibkr_endpoint
from ibkr.endpoints.accounts import AccountEndpoints
from ibkr.endpoints.contracts import ContractEndpoints
from ibkr.models import Account, Contract, InvalidateResult, Position

log = logging.getLogger(__name__)
TAG = "Trading Portfolio"
PAGE_SIZE = 100  # IBKR's documented maximum; each position also carries its pageSize
SUBACCOUNTS_MAX = 100  # /portfolio/subaccounts lists at most this many (IBKR CPAPI v1 docs, /portfolio/subaccounts)
SUBACCOUNTS2_MAX_PAGES = 1000  # 20,000 sub-accounts: a bound on the paging, never reached by a real structure


class PositionEndpoints(ContractEndpoints, AccountEndpoints):
    """IBKR's "Portfolio" position endpoints (docs/cpapi.md section 2)."""

    max_workers: int = 8
    _secdefs: dict[int, dict[str, Any]] | None = None  # each conid's definition fields (/trsrv/secdef), kept
    pages_in_flight: int = 3  # per account: how far ahead of the last full page to ask

    @ibkr_endpoint("GET", "/portfolio/{accountId}/positions/{pageId}", TAG)
    def positions_page(
        self,
        account_id: str,
        page: int = 0,
        *,
        sort: str | None = None,
        direction: str | None = None,
        model: str | None = None,
        wait_for_secdef: bool | None = None,
    ) -> list[Position]:
        """One page (up to 100) of an account's positions, 0-indexed. IBKR caches these; see invalidate."""
        params = {"sort": sort, "direction": direction, "model": model, "waitForSecDef": wait_for_secdef}
        return self._get(list[Position], f"/portfolio/{account_id}/positions/{page}", params)

    @ibkr_endpoint("GET", "/portfolio2/{accountId}/positions", TAG)
    def portfolio2_positions(
        self, account_id: str, *, sort: str | None = None, direction: str | None = None, model: str | None = None
    ) -> list[Position]:
        """Near-real-time positions without IBKR's cache and without paging (different field names, same model)."""
        params = {"sort": sort, "direction": direction, "model": model}
        rows = self._get(list[Position], f"/portfolio2/{account_id}/positions", params)
        return [p if p.acct_id else p.model_copy(update={"acct_id": account_id}) for p in rows]

    @ibkr_endpoint("GET", "/portfolio/{accountid}/position/{conid}", TAG)
    def position(self, account_id: str, conid: int) -> list[Position]:
        """An account's position(s) in one contract."""
        return self._get(list[Position], f"/portfolio/{account_id}/position/{conid}")

    @ibkr_endpoint("GET", "/portfolio/positions/{conid}", TAG)
    def positions_by_conid(self, conid: int) -> dict[str, list[Position]]:
        """Every account's position in one contract: account id -> positions."""
        return self._get(dict[str, list[Position]], f"/portfolio/positions/{conid}")

    @ibkr_endpoint("POST", "/portfolio/{accountId}/positions/invalidate", TAG)
    def invalidate_positions(self, account_id: str) -> InvalidateResult:
        """Clear IBKR's position cache for an account, so the next positions call is fresh."""
        return self._post(InvalidateResult, f"/portfolio/{account_id}/positions/invalidate", idempotent=True)

    def position_accounts(self) -> list[Account]:
        """Every account whose positions this session can read, advisors' sub-accounts included, each once.

        ``/portfolio/accounts`` lists the accounts (and primes ``/portfolio``). When one of them is the master of a
        tiered structure (advisor, IBroker), ``/portfolio/subaccounts`` lists its clients' accounts, at most 100;
        when it answers 100, every page of ``/portfolio/subaccounts2`` adds the rest (IBKR CPAPI v1 docs,
        /portfolio/subaccounts: "If you have more than 100 sub-accounts use /portfolio/subaccounts2").

        The listing is also the priming: IBKR's sub-account endpoints "must be called prior to calling other
        /portfolio endpoints for those sub-accounts" (IBKR CPAPI v1 docs, /portfolio/subaccounts and
        /portfolio/subaccounts2), so a sub-account is returned only once a listing of this session named it, and
        its summary, ledger and positions are read after that.
        """
        accounts: list[Account] = self.portfolio_accounts()
        if any(a.is_advisor for a in accounts):
            subs: list[Account] = self.portfolio_subaccounts()
            if len(subs) >= SUBACCOUNTS_MAX:
                subs = subs + self.all_subaccount_pages()
            accounts = accounts + subs
        unique: dict[str, Account] = {}
        for account in accounts:
            unique.setdefault(account.account_id, account)
        return list(unique.values())

    def position_account_ids(self) -> list[str]:
        """The ids of :meth:`position_accounts`."""
        return [a.account_id for a in self.position_accounts()]

    def all_subaccount_pages(self) -> list[Account]:
        """Every sub-account of a large structure: ``/portfolio/subaccounts2`` from page 0 to the end, each once.

        The end is the first page that comes back short (fewer than IBKR's 20 a page) or adds no account not
        seen before (empty, or a gateway that ignored ``page`` and answered page 0 again). Never ``metadata.total``:
        the IBKR OpenAPI spec defines it as "the total number of accounts returned for the page", and its example
        answers ``total`` 1 for one account, so "stop when ``total`` are in" would stop after the first page
        whenever that reading is right. Paging on costs one request (5.5 s of pacing) past an exact multiple of
        20 when ``total`` is the structure's total, and never drops an account when it is not.
        """
        seen: dict[str, Account] = {}
        for page in range(SUBACCOUNTS2_MAX_PAGES):
            batch = self.portfolio_subaccounts_page(page)
            fresh = [a for a in batch.subaccounts if a.account_id not in seen]
            seen.update((a.account_id, a) for a in fresh)
            if not fresh or len(batch.subaccounts) < batch.page_size:
                break
        else:
            log.warning("/portfolio/subaccounts2 still had accounts after %d pages; stopped there",
                        SUBACCOUNTS2_MAX_PAGES)
        return list(seen.values())

    def all_positions(self, account_ids: list[str] | None = None, fresh: bool = False) -> list[Position]:
        """Every position of every account, all pages, as one flat list (account order, then IBKR's order).

        ``account_ids=None`` means every account of :meth:`position_account_ids` (advisors' sub-accounts
        included). ``fresh=True`` first invalidates IBKR's position cache of each account. Pages are fetched in
        parallel (a thread pool, inside the process-wide pacing limiter), a few pages ahead per account; an
        account is done at the first page with fewer than ``pageSize`` positions.
        """
        accounts = list(dict.fromkeys(account_ids)) if account_ids is not None else self.position_account_ids()
        if not accounts:
            return []
        workers = max(1, min(self.max_workers, len(accounts) * self.pages_in_flight))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ibkr-positions") as pool:
            if fresh:
                for done in [pool.submit(self.invalidate_positions, a) for a in accounts]:
                    done.result()
            pages = _Pager(self, pool, accounts).run()
        seen: set[tuple[str, int, str | None]] = set()
        out: list[Position] = []
        for account_id in accounts:
            for row in pages[account_id]:
                key = (row.acct_id or account_id, row.conid, row.model)
                if key not in seen:
                    seen.add(key)
                    out.append(row if row.acct_id else row.model_copy(update={"acct_id": account_id}))
        return self.complete_positions(out)

    def current_positions(self, account_ids: list[str] | None = None) -> list[Position]:
        """Every position of every account from ``/portfolio2`` (IBKR's uncached read: one call per account, no
        pages, a fill shows at once), completed with the security definitions it lacks from ``/trsrv/secdef``
        (asked once per new conid). What :meth:`all_positions` gives, at a few calls instead of one per 100."""
        accounts = list(dict.fromkeys(account_ids)) if account_ids is not None else self.position_account_ids()
        if not accounts:
            return []
        workers = max(1, min(self.max_workers, len(accounts)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ibkr-positions") as pool:
            rows = list(pool.map(self.portfolio2_positions, accounts))
        return self.complete_positions([r for account_rows in rows for r in account_rows])

    def complete_positions(self, rows: list[Position]) -> list[Position]:
        """Rows that came without their security definition (no ``ticker``: IBKR sends them so "sometimes",
        even with ``waitForSecDef``) completed from ``/trsrv/secdef``, 200 conids a call. Definitions change
        rarely, so each conid is asked once per client and kept."""
        missing = sorted({r.conid for r in rows if r.ticker is None})
        if not missing:
            return rows
        if self._secdefs is None:
            self._secdefs = {}
        known = self._secdefs
        wanted = [c for c in missing if c not in known]
        if wanted:
            for contract in self.secdef_by_conid(wanted):
                known[contract.conid] = _definition(contract)
        return [_completed(r, known[r.conid]) if r.ticker is None and r.conid in known else r for r in rows]


_SECDEF_FIELDS = ("ticker", "name", "full_name", "listing_exchange", "country_code", "expiry", "last_trading_day",
                  "put_or_call", "multiplier", "und_conid", "display_rule")
_LISTS = ("increment_rules", "all_exchanges")  # a row lacks these when they are empty


def _definition(contract: Contract) -> dict[str, Any]:
    """The fields a position may take from its contract's definition: those the definition has a value for."""
    fields = {name: value for name in _SECDEF_FIELDS if (value := getattr(contract, name)) not in (None, "")}
    if contract.strike:
        fields["strike"] = contract.strike
    if contract.increment_rules:
        fields["increment_rules"] = contract.increment_rules
    if contract.all_exchanges:
        fields["all_exchanges"] = ",".join(contract.all_exchanges)
    return fields


def _lacks(row: Position, name: str) -> bool:
    value = getattr(row, name)
    return not value if name in _LISTS else value in (None, 0)  # a strike or und_conid of 0 is IBKR's blank


def _completed(row: Position, definition: dict[str, Any]) -> Position:
    """``row`` with the definition fields it lacks taken from ``definition`` (its own values win), or ``row`` itself
    when it lacks none."""
    update = {name: value for name, value in definition.items() if _lacks(row, name)}
    return row.model_copy(update=update) if update else row


class _Pager:
    """Reads each account's page 0 first and reads ahead only as far as the account has proved to go: after ``n``
    full pages, up to ``min(n, pages_in_flight)`` requests are in flight, until the first short page. An account of
    one page costs one request, and a large one wastes at most ``pages_in_flight - 1`` empty pages at its end
    (reading three pages ahead on every account asked IBKR for empty pages 1 and 2 of small accounts on every
    refresh, and those pushed the gateway into its pacing penalty)."""

    def __init__(self, client: PositionEndpoints, pool: ThreadPoolExecutor, accounts: list[str]) -> None:
        self.client = client
        self.pool = pool
        self.accounts = accounts
        self.next_page = dict.fromkeys(accounts, 0)
        self.last_page: dict[str, int] = {}
        self.results: dict[str, dict[int, list[Position]]] = {a: {} for a in accounts}
        self.pending: dict[Future[Any], tuple[str, int]] = {}
        self.in_flight = dict.fromkeys(accounts, 0)
        self.full_pages = dict.fromkeys(accounts, 0)

    def _submit(self, account_id: str) -> None:
        page = self.next_page[account_id]
        self.next_page[account_id] = page + 1
        self.in_flight[account_id] += 1
        # waitForSecDef: without it IBKR may send rows without their definition (its spec; ibind #6)
        future = self.pool.submit(self.client.positions_page, account_id, page, wait_for_secdef=True)
        self.pending[future] = (account_id, page)

    def run(self) -> dict[str, list[Position]]:
        for account_id in self.accounts:
            self._submit(account_id)
        try:
            while self.pending:
                done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
                for future in done:
                    account_id, page = self.pending.pop(future)
                    self.in_flight[account_id] -= 1
                    rows = future.result()
                    self.results[account_id][page] = rows
                    size = next((r.page_size for r in rows if r.page_size), None) or PAGE_SIZE
                    if len(rows) < size:
                        self.last_page[account_id] = min(page, self.last_page.get(account_id, page))
                    elif account_id not in self.last_page:
                        self.full_pages[account_id] += 1
                        ahead = max(1, min(self.full_pages[account_id], self.client.pages_in_flight))
                        while self.in_flight[account_id] < ahead:
                            self._submit(account_id)
        except BaseException:
            for future in self.pending:
                future.cancel()
            raise
        out: dict[str, list[Position]] = {}
        for account_id in self.accounts:
            last = self.last_page[account_id]
            out[account_id] = [row for page in range(last + 1) for row in self.results[account_id][page]]
            log.debug("%s: %d positions in %d pages", account_id, len(out[account_id]), last + 1)
        return out
