"""Turn an order ticket's instrument (symbol, option terms, future month, forex pair) into IBKR's conid, and the
look-ups a ticket form offers before that (an option's strikes and contracts, a currency's forex pairs).

Each lookup follows IBKR's documented workflow (docs/cpapi.md section 4): strikes and option contracts answer
empty until the underlying was searched, so an empty answer searches and asks once more. A miss is explained
in a trader's words (an :class:`~ibkr.errors.OrderValidationError`: nothing was sent).
"""

from __future__ import annotations

import logging

from ibkr.endpoints.contracts import ContractEndpoints
from ibkr.errors import OrderValidationError, RequestRejected
from ibkr.models import SecdefInfo, SecdefSearchResult, Strikes
from ibkr.orders import (
    BondOrder,
    ConidOrder,
    CryptoOrder,
    ForexOrder,
    FutureOrder,
    OptionOrder,
    StockOrder,
    month_code,
    month_number,
)

log = logging.getLogger(__name__)


class ContractResolver(ContractEndpoints):
    """``resolve_conid(ticket)`` for every ticket type."""

    def resolve_conid(self, ticket: object) -> int:
        """The conid an order ticket is for (its own ``conid`` if it has one)."""
        conid = getattr(ticket, "conid", None)
        if conid:
            return int(conid)
        if isinstance(ticket, StockOrder):
            return self._stock_conid(ticket)
        if isinstance(ticket, OptionOrder):
            return self._option_conid(ticket)
        if isinstance(ticket, FutureOrder):
            return self._future_conid(ticket)
        if isinstance(ticket, ForexOrder):
            return self._forex_conid(ticket)
        if isinstance(ticket, CryptoOrder):
            return self._crypto_conid(ticket)
        if isinstance(ticket, BondOrder | ConidOrder):
            raise OrderValidationError("Order not sent: this order needs the contract's conid.")
        raise OrderValidationError(f"Order not sent: {type(ticket).__name__} is not an order ticket.")

    # ---- the look-ups a ticket form offers ----------------------------------------------------------------------
    def option_strikes(self, symbol: str, conid: int, month: str, exchange: str = "SMART") -> Strikes:
        """Call and put strikes of an underlying's month (``JAN25``)."""
        found = self.secdef_strikes(conid, "OPT", month, exchange)
        if not found.call and not found.put:
            self.secdef_search(symbol.strip().upper(), sec_type="STK")
            found = self.secdef_strikes(conid, "OPT", month, exchange)
        return found

    def option_contracts(self, symbol: str, conid: int, month: str, strike: float, right: str,
                         exchange: str = "SMART") -> list[SecdefInfo]:
        """The option contracts of one month, strike and right, by expiry (several when weeklies expire then)."""
        def ask() -> list[SecdefInfo]:
            return self.secdef_info(conid, "OPT", month=month, exchange=exchange, strike=strike, right=right)
        found = ask()
        if not found:
            self.secdef_search(symbol.strip().upper(), sec_type="STK")
            found = ask()
        return sorted(found, key=lambda i: i.maturity_date or "")

    def future_families(self, symbol: str) -> list[SecdefSearchResult]:
        """Search results of ``symbol`` that list futures (a ``FUT`` section with IBKR's contract months)."""
        query = symbol.strip().upper()
        results = [r for r in self.secdef_search(query, sec_type="IND") if r.section("FUT") and r.conid]
        if not results:  # some futures' underlyings are not indexes (IBKR files them under other types)
            results = [r for r in self.secdef_search(query) if r.section("FUT") and r.conid]
        return sorted(results, key=lambda r: (r.symbol or "").upper() != query)

    def future_contracts(self, conid: int, month: str, exchange: str | None = None) -> list[SecdefInfo]:
        """The futures of IBKR's contract month ``month`` (``JAN27``) on an underlying, by expiry. The month is
        IBKR's own: CL JAN27 expires in December 2026, so a month is never derived from an expiry date."""
        found = self.secdef_info(conid, "FUT", month=month, exchange=exchange)
        return sorted(found, key=lambda i: i.maturity_date or "")

    def forex_pairs(self, text: str) -> list[tuple[str, int]]:
        """``(pair, conid)`` for a currency (``EUR``: every EUR pair IBKR offers, sorted) or a pair (``EUR.USD``,
        also ``EUR/USD``: that pair alone, or nothing). IBKR's currency pairs first, the contract search if those
        are unavailable."""
        query = text.strip().upper().replace("/", ".")
        pair_asked = "." in query
        pairs: dict[str, int] = {}
        for currency in query.split(".")[:2] if pair_asked else [query]:
            try:
                for pair in self.currency_pairs(currency).get(currency, []):
                    pairs.setdefault(pair.symbol.upper(), pair.conid)
            except RequestRejected as exc:
                log.info("currency pairs for %s unavailable (%s); using the contract search", currency, exc.message)
            if not pair_asked or query in pairs:
                break
        if not pairs or (pair_asked and query not in pairs):
            for result in self.secdef_search(query):
                section = result.section("CASH")
                name = (result.symbol or "").upper()
                conid = (section.conid or result.conid) if section else None
                if conid and "." in name:
                    pairs.setdefault(name, int(conid))
        if pair_asked:
            return [(p, c) for p, c in pairs.items() if p == query]
        return sorted(pairs.items())

    # ---- conids -------------------------------------------------------------------------------------------------
    def _stock_conid(self, ticket: StockOrder) -> int:
        symbol = (ticket.symbol or "").strip().upper()
        companies = self.stocks_by_symbol(symbol).get(symbol, [])
        listings = [listing for company in companies for listing in company.contracts]
        if ticket.exchange:
            wanted = ticket.exchange.upper()
            matches = [x for x in listings if (x.exchange or "").upper() == wanted]
            if not matches:
                where = ", ".join(sorted({x.exchange or "?" for x in listings})) or "nowhere"
                raise OrderValidationError(f"Order not sent: {symbol} is not listed on {wanted} (listed on {where}).")
            return matches[0].conid
        if not listings:
            raise OrderValidationError(f"Order not sent: IBKR knows no stock with the symbol {symbol}.")
        first_company = companies[0].contracts
        us = [x for x in first_company if x.is_us]
        return (us or first_company or listings)[0].conid

    def _option_conid(self, ticket: OptionOrder) -> int:
        underlying = ticket.underlying.strip().upper()
        results = [r for r in self.secdef_search(underlying, sec_type="STK") if r.section("OPT") and r.conid]
        if not results:
            raise OrderValidationError(f"Order not sent: IBKR lists no options on {underlying}.")
        result = next((r for r in results if (r.symbol or "").upper() == underlying), results[0])
        section = result.section("OPT")
        months = section.months if section else []
        if months and ticket.month not in months:
            raise OrderValidationError(
                f"Order not sent: no {underlying} options expire in {ticket.month}; months: {', '.join(months)}."
            )
        conid = int(result.conid or 0)  # the search results kept have a conid
        strikes = self.option_strikes(underlying, conid, ticket.month, ticket.exchange)
        listed = strikes.call if ticket.right == "C" else strikes.put
        if listed and not any(abs(s - ticket.strike) < 1e-6 for s in listed):
            below = [s for s in listed if s < ticket.strike]
            above = [s for s in listed if s > ticket.strike]
            nearest = ([max(below)] if below else []) + ([min(above)] if above else [])
            raise OrderValidationError(
                f"Order not sent: {underlying} {ticket.month} has no {ticket.strike:g} strike; nearest: "
                f"{', '.join(f'{s:g}' for s in nearest)}."
            )
        infos = self.option_contracts(underlying, conid, ticket.month, ticket.strike, ticket.right,
                                      ticket.exchange)
        wanted = ticket.expiry.strftime("%Y%m%d")
        match = next((i for i in infos if (i.maturity_date or "") == wanted), None)
        if match is None:
            dates = ", ".join(sorted({i.maturity_date or "?" for i in infos})) or "none"
            raise OrderValidationError(
                f"Order not sent: no {underlying} {ticket.strike:g} {'call' if ticket.right == 'C' else 'put'} "
                f"expires on {ticket.expiry.isoformat()}; expiries that month: {dates}."
            )
        return match.conid

    def _future_conid(self, ticket: FutureOrder) -> int:
        symbol = ticket.symbol.strip().upper()
        month = ticket.contract_month
        if len(month) == 8:  # an expiry date: /trsrv/futures lists each contract's expirationDate
            futures = self.futures_by_symbol(symbol, ticket.exchange).get(symbol, [])
            matches = [f for f in futures if str(f.expiration_date) == month]
            if not matches:
                dates = ", ".join(sorted({str(f.expiration_date) for f in futures})) or "none"
                raise OrderValidationError(f"Order not sent: no {symbol} future expires on {month}; expiries: {dates}.")
            return matches[0].conid
        code = month_code(month)
        families = self.future_families(symbol)
        if not families:
            raise OrderValidationError(f"Order not sent: IBKR lists no futures for {symbol}.")
        family = families[0]
        section = family.section("FUT")
        months = section.months if section else []
        if months and code not in months:
            listed = ", ".join(f"{m} ({month_number(m)})" for m in months)
            raise OrderValidationError(f"Order not sent: no {symbol} future for {code}; contract months: {listed}.")
        contracts = self.future_contracts(int(family.conid or 0), code, ticket.exchange)
        if not contracts:
            raise OrderValidationError(f"Order not sent: IBKR lists no {symbol} {code} contract"
                                       + (f" on {ticket.exchange}." if ticket.exchange else "."))
        return contracts[0].conid

    def _forex_conid(self, ticket: ForexOrder) -> int:
        found = self.forex_pairs(ticket.pair)
        if found:
            return found[0][1]
        base, quote = ticket.pair.split(".")
        raise OrderValidationError(
            f"Order not sent: IBKR offers no forex pair {ticket.pair} (try {quote}.{base})."
        )

    def _crypto_conid(self, ticket: CryptoOrder) -> int:
        symbol = ticket.symbol.strip().upper()
        for result in self.secdef_search(symbol):
            section = result.section("CRYPTO")
            if section and section.conid:
                return section.conid
            if section and result.conid and (result.description or "").upper() in ("", ticket.exchange.upper()):
                return result.conid
            if (result.description or "").upper() == ticket.exchange.upper() and result.conid:
                return result.conid
        raise OrderValidationError(f"Order not sent: IBKR lists no {symbol} cryptocurrency on {ticket.exchange}.")
