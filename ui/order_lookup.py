"""Cached contract lookups for the order ticket, following IBKR's documented workflows (CPAPI.md section 4).

Every function takes plain values (never widgets) and returns models, so Streamlit can cache them; an
:class:`~ibkr.errors.IbkrError` is not cached and reaches the picker, which shows its message.
"""

from __future__ import annotations

import logging

import streamlit as st

from ibkr.errors import RequestRejected
from ibkr.models import ContractInfo, FuturesContract, SecdefInfo, SecdefSearchResult, Snapshot, Strikes
from ui import services

log = logging.getLogger(__name__)
LOOKUP_TTL = 300
QUOTE_TTL = 5


def _client():
    return services.client()


@st.cache_data(ttl=60, show_spinner=False)
def tradable_accounts() -> list[str]:
    """The accounts ``/iserver/accounts`` lists: the only ones an order may be sent for."""
    return _client().tradable_account_ids(refresh=True)


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Looking up the contract...")
def search(symbol: str, sec_type: str | None = None) -> list[SecdefSearchResult]:
    """``/iserver/secdef/search`` for a symbol (also what lets IBKR answer strikes and derivative quotes)."""
    return _client().secdef_search(symbol.strip().upper(), sec_type=sec_type)


def with_section(results: list[SecdefSearchResult], sec_type: str) -> list[SecdefSearchResult]:
    """The results that trade as ``sec_type`` (a stock's search also lists forex pairs and crypto)."""
    return [r for r in results if r.conid and r.section(sec_type) is not None]


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Loading strikes...")
def strikes(symbol: str, conid: int, month: str) -> Strikes:
    """Call and put strikes of an underlying's month; IBKR answers empty until the symbol was searched."""
    client = _client()
    found = client.secdef_strikes(conid, "OPT", month, "SMART")
    if not found.call and not found.put:
        client.secdef_search(symbol, sec_type="STK")
        found = client.secdef_strikes(conid, "OPT", month, "SMART")
    return found


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Loading the option contract...")
def option_contracts(symbol: str, conid: int, month: str, strike: float, right: str) -> list[SecdefInfo]:
    """The option contracts of one month, strike and right (more than one when weeklies expire that month)."""
    client = _client()
    found = client.secdef_info(conid, "OPT", month=month, exchange="SMART", strike=strike, right=right)
    if not found:
        client.secdef_search(symbol, sec_type="STK")
        found = client.secdef_info(conid, "OPT", month=month, exchange="SMART", strike=strike, right=right)
    return sorted(found, key=lambda i: i.maturity_date or "")


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Loading futures...")
def futures(symbol: str) -> list[FuturesContract]:
    """The non-expired futures of a symbol, nearest expiry first."""
    key = symbol.strip().upper()
    found = _client().futures_by_symbol(key).get(key, [])
    return sorted(found, key=lambda f: f.expiration_date or 0)


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Looking up forex pairs...")
def forex_pairs(text: str) -> list[tuple[str, int]]:
    """``(pair, conid)`` for a currency (``EUR``: every EUR pair IBKR offers) or a pair (``EUR.USD``)."""
    query = text.strip().upper().replace("/", ".")
    client = _client()
    pairs: dict[str, int] = {}
    currency = query.split(".")[0]
    try:
        for pair in client.currency_pairs(currency).get(currency, []):
            pairs[pair.symbol.upper()] = pair.conid
    except RequestRejected as exc:
        log.info("currency pairs for %s unavailable (%s); using the contract search", currency, exc.message)
    if not pairs:
        for result in with_section(client.secdef_search(query), "CASH"):
            name = (result.symbol or "").upper()
            if "." in name:
                pairs[name] = int(result.section("CASH").conid or result.conid)  # type: ignore[union-attr, arg-type]
    if "." in query:
        return [(p, c) for p, c in pairs.items() if p == query]
    return sorted(pairs.items())


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Looking up bond issuers...")
def bond_issuers(symbol: str) -> list[tuple[str, str, int]]:
    """``(issuer id, issuer name, search conid)`` of the bonds a symbol's search lists."""
    out = []
    for result in _client().secdef_search(symbol.strip().upper(), sec_type="BOND"):
        if result.section("BOND") is None:
            continue
        for issuer in result.issuers:
            if issuer.id:
                out.append((issuer.id, issuer.name or issuer.id, int(result.conid or 0)))
    return out


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Loading the issuer's bonds...")
def bonds(search_conid: int, issuer_id: str) -> list[SecdefInfo]:
    """The bonds of one issuer, by maturity."""
    found = _client().secdef_info(search_conid, "BOND", issuer_id=issuer_id)
    return sorted(found, key=lambda b: b.maturity_date or "")


@st.cache_data(ttl=3600, show_spinner=False)
def details(conid: int) -> ContractInfo | None:
    """Exchange, currency and multiplier of a contract (None when IBKR cannot say)."""
    try:
        return _client().contract_info(conid)
    except RequestRejected as exc:
        log.info("contract info for %s unavailable: %s", conid, exc.message)
        return None


@st.cache_data(ttl=QUOTE_TTL, show_spinner=False)
def quote(conid: int) -> Snapshot | None:
    """Last, bid and ask of a contract (the snapshot preflight is handled, so IBKR knows we saw the market)."""
    found = _client().snapshot([conid])
    return next((s for s in found if s.conid == conid), None)


def reference_price(snap: Snapshot | None) -> float | None:
    """The price a limit is compared with: the last price, else the mid of bid and ask."""
    if snap is None:
        return None
    if snap.last_price is not None:
        return snap.last_price
    if snap.bid is not None and snap.ask is not None:
        return (snap.bid + snap.ask) / 2
    return None
