"""Turn an order ticket's instrument (symbol, option terms, future month, forex pair) into IBKR's conid.

Each lookup follows IBKR's documented workflow (CPAPI.md section 4) and explains a miss in a trader's words
(an :class:`~ibkr.errors.OrderValidationError`: nothing was sent).
"""

from __future__ import annotations

import logging

from ibkr.endpoints.contracts import ContractEndpoints
from ibkr.errors import OrderValidationError, RequestRejected
from ibkr.orders import (
    BondOrder,
    ConidOrder,
    CryptoOrder,
    ForexOrder,
    FutureOrder,
    OptionOrder,
    StockOrder,
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
        strikes = self.secdef_strikes(result.conid, "OPT", ticket.month, ticket.exchange)  # type: ignore[arg-type]
        listed = strikes.call if ticket.right == "C" else strikes.put
        if listed and not any(abs(s - ticket.strike) < 1e-6 for s in listed):
            below = [s for s in listed if s < ticket.strike]
            above = [s for s in listed if s > ticket.strike]
            nearest = ([max(below)] if below else []) + ([min(above)] if above else [])
            raise OrderValidationError(
                f"Order not sent: {underlying} {ticket.month} has no {ticket.strike:g} strike; nearest: "
                f"{', '.join(f'{s:g}' for s in nearest)}."
            )
        infos = self.secdef_info(
            result.conid, "OPT", month=ticket.month, exchange=ticket.exchange,  # type: ignore[arg-type]
            strike=ticket.strike, right=ticket.right,
        )
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
        futures = self.futures_by_symbol(symbol, ticket.exchange).get(symbol, [])
        month = ticket.contract_month
        if len(month) == 8:
            matches = [f for f in futures if str(f.expiration_date) == month]
        else:
            matches = [f for f in futures if f.contract_month == month]
        if not matches:
            months = ", ".join(sorted({f.contract_month or "?" for f in futures})) or "none"
            raise OrderValidationError(f"Order not sent: no {symbol} future for {month}; available months: {months}.")
        return matches[0].conid

    def _forex_conid(self, ticket: ForexOrder) -> int:
        base, quote = ticket.pair.split(".")
        for currency in (base, quote):
            try:
                pairs = self.currency_pairs(currency).get(currency, [])
            except RequestRejected as exc:
                log.info("currency pairs for %s unavailable: %s", currency, exc.message)
                continue
            match = next((p for p in pairs if p.symbol.upper() == ticket.pair), None)
            if match:
                return match.conid
        for result in self.secdef_search(ticket.pair):
            section = result.section("CASH")
            if section and (section.conid or result.conid):
                return int(section.conid or result.conid)  # type: ignore[arg-type]
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
