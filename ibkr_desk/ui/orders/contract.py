"""The contract lookup of the order ticket: a symbol, IBKR's results to pick from, and per asset class the option
chain (month, right, strike, expiry), the futures month, the forex pair, the issuer's bond.

Widget keys carry the symbol (and month), so a new symbol starts with fresh choices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from ibkr.errors import IbkrError
from ibkr.models import SecdefSearchResult
from ibkr.orders import month_number
from ibkr.orders.entry import Pick
from ibkr_desk.ui.orders import lookups as lookup

SYMBOL_INPUT = {
    "STK": ("Symbol", "AAPL, SAP, 7203..."), "OPT": ("Underlying symbol", "SPY, AAPL, MSFT..."),
    "FUT": ("Futures symbol", "ES, NQ, CL, GC..."), "CASH": ("Currency or pair", "EUR or EUR.USD"),
    "BOND": ("Issuer symbol", "T, DBR, UKT..."), "CRYPTO": ("Symbol", "BTC, ETH..."),
}


@dataclass
class Lookup:
    """What the lookup found: the picked contract, or the problem that stops the ticket (unknown symbol...)."""

    pick: Pick | None = None
    problem: str | None = None


def symbol_key(asset_class: str) -> str:
    return f"order_symbol_{asset_class}"


def pick_contract(asset_class: str, disabled: bool = False) -> Lookup:
    """Render the lookup widgets of one asset class; return the contract picked."""
    label, placeholder = SYMBOL_INPUT[asset_class]
    symbol = st.text_input(label, key=symbol_key(asset_class), placeholder=placeholder, disabled=disabled,
                           help="Press Enter to look it up; then pick the contract from IBKR's results.")
    symbol = (symbol or "").strip().upper()
    if not symbol:
        return Lookup()
    try:
        return PICKERS[asset_class](symbol, disabled)
    except IbkrError as exc:
        return Lookup(problem=f"The contract lookup for {symbol} failed: {exc.message}")


def _choose(label: str, labels: list[str], key: str, disabled: bool, index: int = 0, where=st) -> int:
    """A selectbox over labels; returns the index picked."""
    picked = where.selectbox(label, labels, index=min(index, len(labels) - 1), key=key, disabled=disabled)
    return labels.index(picked) if picked in labels else 0


def _result_label(r: SecdefSearchResult) -> str:
    name = r.company_name or r.company_header or ""
    parts = [r.symbol or "", name, r.description or ""]
    return " · ".join(p for p in parts if p) + f" · conid {r.conid}"


def _stock(symbol: str, disabled: bool) -> Lookup:
    results = lookup.with_section(lookup.search(symbol, "STK"), "STK")
    if not results:
        return Lookup(problem=f"Unknown symbol: IBKR knows no stock with the symbol {symbol}.")
    labels = [_result_label(r) for r in results]
    chosen = results[_choose("Contract", labels, f"order_pick_STK_{symbol}", disabled)]
    name = f"{chosen.symbol or symbol} · {chosen.company_name or ''} · {chosen.description or ''}".strip(" ·")
    return Lookup(Pick("STK", int(chosen.conid), name, chosen.symbol or symbol))  # type: ignore[arg-type]


def _option(symbol: str, disabled: bool) -> Lookup:
    results = lookup.with_section(lookup.search(symbol, "STK"), "OPT")
    if not results:
        return Lookup(problem=f"Unknown symbol: IBKR lists no options on {symbol}.")
    labels = [_result_label(r) for r in results]
    und = results[_choose("Underlying", labels, f"order_pick_OPT_{symbol}", disabled)]
    section = und.section("OPT")
    months = list(section.months) if section else []
    if not months:
        return Lookup(problem=f"IBKR lists no option months for {symbol}.")
    cols = st.columns([2, 2, 2])
    month = cols[0].selectbox("Expiry month", months, key=f"order_opt_month_{symbol}", disabled=disabled)
    right = cols[1].radio("Right", ["C", "P"], format_func=lambda r: "Call" if r == "C" else "Put", horizontal=True,
                          key="order_opt_right", disabled=disabled)
    chain = lookup.strikes(und.symbol or symbol, int(und.conid), month)  # type: ignore[arg-type]
    listed = chain.call if right == "C" else chain.put
    if not listed:
        return Lookup(problem=f"IBKR lists no {symbol} {month} {'call' if right == 'C' else 'put'} strikes.")
    spot = lookup.reference_price(lookup.quote(int(und.conid)))  # type: ignore[arg-type]
    nearest = min(range(len(listed)), key=lambda i: abs(listed[i] - spot)) if spot else len(listed) // 2
    strike_labels = [f"{s:g}" for s in listed]
    strike = listed[_choose("Strike", strike_labels, f"order_opt_strike_{symbol}_{month}", disabled, nearest,
                            cols[2])]
    if spot:
        cols[2].caption(f"{symbol} last {spot:,.2f}")
    contracts = lookup.option_contracts(und.symbol or symbol, int(und.conid), month, strike, right)  # type: ignore[arg-type]
    if not contracts:
        return Lookup(problem=f"IBKR has no {symbol} {month} {strike:g} {'call' if right == 'C' else 'put'}.")
    index = 0
    if len(contracts) > 1:
        dates = [_date_text(c.maturity_date) for c in contracts]
        index = _choose("Expiry", dates, f"order_opt_expiry_{symbol}_{month}_{strike:g}", disabled)
    chosen = contracts[index]
    expiry = _date(chosen.maturity_date)
    label = f"{symbol} {chosen.desc2 or ''}".strip() or f"{symbol} {month} {strike:g} {right}"
    return Lookup(Pick("OPT", chosen.conid, label, und.symbol or symbol, chosen.currency, expiry, strike, right))


def _future(symbol: str, disabled: bool) -> Lookup:
    families = lookup.future_families(symbol)
    if not families:
        return Lookup(problem=f"Unknown symbol: IBKR lists no futures for {symbol}.")
    family = families[0]
    if len(families) > 1:
        family = families[_choose("Underlying", [_result_label(r) for r in families], f"order_pick_FUT_{symbol}",
                                  disabled)]
    section = family.section("FUT")
    months = list(section.months) if section else []
    if not months:
        return Lookup(problem=f"IBKR lists no contract months for {symbol} futures.")
    # IBKR's own contract months: CL JAN27 expires in December 2026, so the expiry is shown beside the month
    month = months[_choose("Contract month", months, f"order_pick_FUT_{symbol}_month", disabled)]
    contracts = lookup.future_contracts(int(family.conid or 0), month)
    if not contracts:
        return Lookup(problem=f"IBKR lists no {symbol} {month} contract.")
    chosen = contracts[0]
    if len(contracts) > 1:
        labels = [f"{c.listing_exchange or c.exchange or '?'} · expires {_date_text(c.maturity_date)} · "
                  f"conid {c.conid}" for c in contracts]
        chosen = contracts[_choose("Contract", labels, f"order_pick_FUT_{symbol}_{month}", disabled)]
    st.caption(f"{symbol} {month}: last trading day {_date_text(chosen.maturity_date)} · conid {chosen.conid}")
    return Lookup(Pick("FUT", chosen.conid, f"{symbol} {month}", symbol, chosen.currency,
                       contract_month=month_number(month)))


def _forex(symbol: str, disabled: bool) -> Lookup:
    pairs = lookup.forex_pairs(symbol)
    if not pairs:
        return Lookup(problem=f"Unknown symbol: IBKR offers no forex pair for {symbol}. Write a currency (EUR) "
                              "or a pair (EUR.USD).")
    labels = [f"{p} · conid {c}" for p, c in pairs]
    pair, conid = pairs[_choose("Pair", labels, f"order_pick_CASH_{symbol}", disabled)]
    base, quote = pair.split(".")
    st.caption(f"Quantity is in {base}; prices in {quote} per {base} (IDEALPRO).")
    return Lookup(Pick("CASH", conid, pair, base, quote, pair=pair))


def _bond(symbol: str, disabled: bool) -> Lookup:
    issuers = lookup.bond_issuers(symbol)
    if not issuers:
        return Lookup(problem=f"Unknown symbol: IBKR lists no bonds for {symbol}.")
    issuer_id, issuer_name, search_conid = issuers[_choose(
        "Issuer", [f"{name} ({i})" for i, name, _ in issuers], f"order_pick_BOND_{symbol}", disabled)]
    found = lookup.bonds(search_conid, issuer_id)
    if not found:
        return Lookup(problem=f"IBKR lists no bonds of {issuer_name}.")
    labels = [f"{b.company_name or b.symbol} · {b.currency or ''} · matures {_date_text(b.maturity_date)} · "
              f"conid {b.conid}" for b in found]
    chosen = found[_choose("Bond", labels, f"order_pick_BOND_{symbol}_{issuer_id}", disabled)]
    label = chosen.company_name or f"{chosen.symbol} {_date_text(chosen.maturity_date)}"
    return Lookup(Pick("BOND", chosen.conid, label, chosen.symbol or symbol, chosen.currency))


def _crypto(symbol: str, disabled: bool) -> Lookup:
    results = lookup.with_section(lookup.search(symbol), "CRYPTO")
    if not results:
        return Lookup(problem=f"Unknown symbol: IBKR lists no cryptocurrency {symbol}.")
    labels = [_result_label(r) for r in results]
    chosen = results[_choose("Contract", labels, f"order_pick_CRYPTO_{symbol}", disabled)]
    section = chosen.section("CRYPTO")
    conid = int((section.conid if section else None) or chosen.conid)  # type: ignore[arg-type]
    label = f"{chosen.symbol or symbol} · {chosen.description or 'PAXOS'}"
    return Lookup(Pick("CRYPTO", conid, label, chosen.symbol or symbol, "USD"))


def _date(value: object) -> dt.date | None:
    text = str(value or "")
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _date_text(value: object) -> str:
    day = _date(value)
    return day.isoformat() if day else "?"


PICKERS: dict[str, Callable[[str, bool], Lookup]] = {
    "STK": _stock, "OPT": _option, "FUT": _future, "CASH": _forex, "BOND": _bond, "CRYPTO": _crypto,
}
