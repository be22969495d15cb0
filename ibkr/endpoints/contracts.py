"""Contract endpoints: secdef search/strikes/info, ``/trsrv/*``, contract info, currency pairs (section 4)."""

from __future__ import annotations

from collections.abc import Iterable

from ibkr.endpoints._base import EndpointGroup, csv, ibkr_endpoint, parse_as
from ibkr.models import (
    Contract,
    ContractInfo,
    CurrencyPair,
    FuturesContract,
    SecdefInfo,
    SecdefResponse,
    SecdefSearchResult,
    StockEntry,
    Strikes,
)

TAG = "Trading Contracts"
SECDEF_BATCH = 200  # IBKR: at most 200 conids per /trsrv/secdef request


class ContractEndpoints(EndpointGroup):
    """IBKR's "Contracts" group (docs/cpapi.md section 4)."""

    @ibkr_endpoint("GET", "/iserver/secdef/search", TAG)
    def secdef_search(
        self, symbol: str, *, sec_type: str | None = None, name: bool | None = None, more: bool | None = None
    ) -> list[SecdefSearchResult]:
        """Find contracts by symbol (or company name with ``name=True``); derivatives list their months here.

        Must come before :meth:`secdef_strikes` / :meth:`secdef_info` for an underlying's derivatives.
        """
        params = {"symbol": symbol, "secType": sec_type, "name": name, "more": more}
        return self._get(list[SecdefSearchResult], "/iserver/secdef/search", params)

    @ibkr_endpoint("GET", "/iserver/secdef/strikes", TAG)
    def secdef_strikes(self, conid: int, sec_type: str, month: str, exchange: str = "SMART") -> Strikes:
        """Call and put strikes of an underlying for a month (``"MAR24"``); empty without a prior search."""
        params = {"conid": conid, "sectype": sec_type, "month": month, "exchange": exchange}
        return self._get(Strikes, "/iserver/secdef/strikes", params)

    @ibkr_endpoint("GET", "/iserver/secdef/info", TAG)
    def secdef_info(
        self,
        conid: int,
        sec_type: str,
        *,
        month: str | None = None,
        exchange: str | None = None,
        strike: float | None = None,
        right: str | None = None,
        issuer_id: str | None = None,
    ) -> list[SecdefInfo]:
        """Contract details of a derivative (one entry per expiry that month); IBKR answers an object or an array."""
        params = {"conid": conid, "sectype": sec_type, "month": month, "exchange": exchange,
                  "strike": None if strike is None else f"{strike:g}", "right": right, "issuerId": issuer_id}
        data = self._transport.get("/iserver/secdef/info", params={k: v for k, v in params.items() if v is not None})
        return parse_as(list[SecdefInfo], data if isinstance(data, list) else [data], "GET /iserver/secdef/info")

    @ibkr_endpoint("GET", "/trsrv/stocks", TAG)
    def stocks_by_symbol(self, symbols: str | Iterable[str]) -> dict[str, list[StockEntry]]:
        """Stock listings per symbol (no brokerage session needed): symbol -> companies -> conid per exchange."""
        return self._get(dict[str, list[StockEntry]], "/trsrv/stocks", {"symbols": csv(symbols)})

    @ibkr_endpoint("GET", "/trsrv/futures", TAG)
    def futures_by_symbol(
        self, symbols: str | Iterable[str], exchange: str | None = None
    ) -> dict[str, list[FuturesContract]]:
        """The non-expired futures of each symbol: symbol -> contracts with expiry dates."""
        params = {"symbols": csv(symbols), "exchange": exchange}
        return self._get(dict[str, list[FuturesContract]], "/trsrv/futures", params)

    @ibkr_endpoint("GET", "/trsrv/secdef", TAG)
    def secdef_by_conid(self, conids: Iterable[int]) -> list[Contract]:
        """Security definitions for conids (asked 200 at a time, IBKR's limit)."""
        ids = list(dict.fromkeys(int(c) for c in conids))
        out: list[Contract] = []
        for start in range(0, len(ids), SECDEF_BATCH):
            batch = ids[start:start + SECDEF_BATCH]
            out.extend(self._get(SecdefResponse, "/trsrv/secdef", {"conids": csv(batch)}).secdef)
        return out

    @ibkr_endpoint("GET", "/iserver/contract/{conid}/info", TAG)
    def contract_info(self, conid: int) -> ContractInfo:
        """One contract's details: symbol, exchange, currency, multiplier, expiry, strike, right, trading class."""
        return self._get(ContractInfo, f"/iserver/contract/{conid}/info")

    @ibkr_endpoint("GET", "/iserver/currency/pairs", TAG)
    def currency_pairs(self, currency: str) -> dict[str, list[CurrencyPair]]:
        """The forex pairs IBKR offers with a currency: ``{"USD": [{"symbol": "USD.SGD", "conid": ...}]}``."""
        return self._get(dict[str, list[CurrencyPair]], "/iserver/currency/pairs", {"currency": currency})
