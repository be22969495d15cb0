"""Cached reads of the Orders page: the contract lookups of the ticket (IBKR's documented workflows,
docs/cpapi.md section 4), the tradable accounts, quotes, and the live orders and trades.

Every function takes plain values (never widgets) and returns models, so Streamlit can cache them; an
:class:`~ibkr.errors.IbkrError` is not cached and reaches the picker, which shows its message.
"""

from __future__ import annotations

import logging

import streamlit as st

from ibkr.errors import RequestRejected
from ibkr.models import (
    ContractInfo,
    SecdefInfo,
    SecdefSearchResult,
    Snapshot,
    Strikes,
)
from ibkr_desk.ui import services

log = logging.getLogger(__name__)
LOOKUP_TTL = 300
QUOTE_TTL = 5


def refresh(account: str | None = None) -> None:
    """Read the live orders and trades of ``account`` next (after anything was sent for it), or all again."""
    services.order_book().request(account)


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
    """Call and put strikes of an underlying's month (``ClientPortalClient.option_strikes``)."""
    return _client().option_strikes(symbol, conid, month)


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Loading the option contract...")
def option_contracts(symbol: str, conid: int, month: str, strike: float, right: str) -> list[SecdefInfo]:
    """The option contracts of one month, strike and right (``ClientPortalClient.option_contracts``)."""
    return _client().option_contracts(symbol, conid, month, strike, right)


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Loading futures...")
def future_families(symbol: str) -> list[SecdefSearchResult]:
    """Search results that list futures, with IBKR's contract months (``ClientPortalClient.future_families``)."""
    return _client().future_families(symbol)


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Loading the futures contract...")
def future_contracts(conid: int, month: str) -> list[SecdefInfo]:
    """The contracts of one IBKR contract month (``ClientPortalClient.future_contracts``)."""
    return _client().future_contracts(conid, month)


@st.cache_data(ttl=LOOKUP_TTL, show_spinner="Looking up forex pairs...")
def forex_pairs(text: str) -> list[tuple[str, int]]:
    """``(pair, conid)`` for a currency or a pair (``ClientPortalClient.forex_pairs``)."""
    return _client().forex_pairs(text)


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


@st.cache_data(ttl=3600, show_spinner=False)
def tick(conid: int) -> float | None:
    """The contract's minimum price variation from its security definition (None when IBKR gives none)."""
    try:
        found = _client().secdef_by_conid([conid])
    except RequestRejected as exc:
        log.info("security definition of %s unavailable: %s", conid, exc.message)
        return None
    contract = next((c for c in found if c.conid == conid), None)
    return contract.increment_at() if contract is not None else None


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
