"""The order ticket's widgets: account, asset class, contract lookup, quote, side, quantity, order type, prices,
time in force and outside-RTH. Returns the values and their check (``ibkr.orders.entry``); sends nothing."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ibkr.analytics.whatif import whatif_utilisation
from ibkr.errors import IbkrError
from ibkr.models import ContractInfo, Snapshot, WhatIf
from ibkr.orders.entry import (
    NEEDS_LIMIT,
    NEEDS_STOP,
    QUANTITY_FORMAT,
    Pick,
    TicketCheck,
    TicketInput,
    check,
    order_types_for,
    price_format,
    round_price,
    tif_for,
    tifs_for,
)
from ibkr.orders.limits import OrderLimits, limit_problems, order_size
from ibkr.portfolio import PortfolioSnapshot
from ibkr_desk import auth
from ibkr_desk.ui import fmt, state, tables
from ibkr_desk.ui.orders import contract as order_contract
from ibkr_desk.ui.orders import lookups as lookup

ASSET_CLASSES = ["STK", "OPT", "FUT", "CASH", "BOND", "CRYPTO"]
CLASS_LABEL = {"STK": "Stock", "OPT": "Option", "FUT": "Future", "CASH": "Forex", "BOND": "Bond", "CRYPTO": "Crypto"}
TYPE_LABEL = {"MKT": "MKT · market", "LMT": "LMT · limit", "STP": "STP · stop", "STOP_LIMIT": "STOP_LIMIT · stop limit",
              "TRAIL": "TRAIL · trailing stop"}
TIF_LABEL = {"DAY": "DAY · today", "GTC": "GTC · until cancelled", "IOC": "IOC · immediate or cancel",
             "OPG": "OPG · opening auction", "PAX": "PAX · crypto (PAXOS)"}


@dataclass
class TicketView:
    input: TicketInput
    check: TicketCheck
    quote: Snapshot | None
    info: ContractInfo | None


def render(accounts: list[str], tradable: list[str], labels: dict[str, str], default_account: str | None,
           locked: bool) -> TicketView:
    """Draw the ticket; ``locked`` (a submission is waiting for answers) disables every input."""
    options = list(dict.fromkeys([*tradable, *accounts]))
    if default_account in options and state.ORDER_ACCOUNT not in st.session_state:
        st.session_state[state.ORDER_ACCOUNT] = default_account

    masked = auth.masks_accounts()

    def account_label(a: str) -> str:  # stable text: a label that changes between runs resets the choice
        shown = fmt.account(a, masked)
        return shown if a in tradable else f"{shown} · view only (not tradable)"

    # Never silently the first account: with "All accounts" in the sidebar the trader chooses one here.
    unchosen = {} if state.ORDER_ACCOUNT in st.session_state else {"index": None}
    account = st.selectbox("Account", options, key=state.ORDER_ACCOUNT, format_func=account_label, disabled=locked,
                           placeholder="Choose the account", help="Accounts this gateway session may trade "
                           "(/iserver/accounts); accounts you can only view are marked. Choosing one account in "
                           "the sidebar chooses it here.", **unchosen)
    if account and labels.get(account):
        st.caption(labels[account])
    asset_class = st.segmented_control(
        "Asset class", ASSET_CLASSES, format_func=lambda c: CLASS_LABEL[c], key=state.ASSET_CLASS, default="STK",
        required=True, disabled=locked, width="stretch") or "STK"
    found = order_contract.pick_contract(asset_class, locked)
    pick = found.pick
    snap, info = _market(pick)
    last = lookup.reference_price(snap)
    if pick is not None:
        st.caption(_contract_line(pick, info, snap))

    cols = st.columns(3)
    with cols[0]:
        side = _side(locked)
    # No min_value: a widget that clamps -5 shows -5 and hands back another number; the check names it instead.
    quantity = cols[1].number_input(_quantity_label(asset_class), step=1.0, value=None, format=QUANTITY_FORMAT,
                                    key=state.QUANTITY, placeholder="0", disabled=locked)
    kinds = order_types_for(asset_class)
    order_type = cols[2].selectbox("Order type", kinds, index=kinds.index("LMT"), key=state.ORDER_TYPE,
                                   format_func=lambda t: TYPE_LABEL[t], disabled=locked)
    tick = lookup.tick(pick.conid) if pick is not None else None
    limit, stop, trail, trail_type = _prices(asset_class, order_type, pick, last, tick, locked)
    cols = st.columns([3, 2])
    tif = _tif(cols[0], asset_class, locked)
    cols[1].markdown("&nbsp;")
    outside_rth = cols[1].checkbox("Outside RTH", key=state.OUTSIDE_RTH, disabled=locked,
                                   help="Allow the order to fill outside regular trading hours.")
    inp = TicketInput(account_id=account, tradable=tuple(tradable), pick=pick, side=side, quantity=quantity,
                      order_type=order_type, limit_price=limit, stop_price=stop, trailing_amount=trail,
                      trailing_type=trail_type, tif=tif, outside_rth=outside_rth, last_price=last, tick=tick)
    return TicketView(inp, check(inp, found.problem), snap, info)


def limits(view: TicketView, snap: PortfolioSnapshot | None, whatif: WhatIf | None,
           order_limits: OrderLimits) -> list[str]:
    """The desk's fat-finger limits this ticket breaks (``ibkr.orders.limits``), against the chosen account."""
    inp, account = view.input, view.input.account_id
    if inp.pick is None or inp.quantity is None or account is None:
        return []
    price = inp.limit_price if inp.order_type in NEEDS_LIMIT else inp.stop_price if inp.order_type in NEEDS_STOP \
        else inp.last_price
    summary = snap.summaries.get(account) if snap else None
    size = order_size(
        inp.quantity, price if price is not None else inp.last_price, asset_class=inp.pick.asset_class,
        currency=(view.info.currency if view.info else None) or inp.pick.currency,
        multiplier=view.info.multiplier if view.info else None, ledger=snap.ledgers.get(account) if snap else None,
        net_liquidation=summary.net_liquidation if summary else None,
        base_currency=snap.base_currency.get(account) if snap else None,
        maint_utilisation_after=whatif_utilisation(whatif).maint_after if whatif else None)
    return limit_problems(order_limits, size) if size else []


def _market(pick: Pick | None) -> tuple[Snapshot | None, ContractInfo | None]:
    if pick is None:
        return None, None
    try:
        return lookup.quote(pick.conid), lookup.details(pick.conid)
    except IbkrError as exc:
        st.caption(f"⚠️ No market data for conid {pick.conid}: {exc.message}")
        return None, None


def _contract_line(pick: Pick, info: ContractInfo | None, snap: Snapshot | None) -> str:
    parts = [f"**{pick.label}**"]
    if info is not None:
        if info.currency:
            parts.append(info.currency)
        if info.multiplier and info.multiplier != 1:
            parts.append(f"multiplier {info.multiplier:g}")
    parts.append(f"conid {pick.conid}")
    if snap is not None and not snap.is_preflight:
        step, fmt = price_format(pick.asset_class, lookup.reference_price(snap))
        def num(x: float | None) -> str:
            return "—" if x is None else fmt % x
        last = num(snap.last_price) + (" (previous close)" if snap.last_is_close else "")
        parts.append(f"last {last} · bid {num(snap.bid)} · ask {num(snap.ask)}")
    else:
        parts.append("no market data yet")
    return " · ".join(parts)


def _quantity_label(asset_class: str) -> str:
    return {"OPT": "Quantity (contracts)", "FUT": "Quantity (contracts)", "CASH": "Quantity (base currency)",
            "BOND": "Quantity (face value)"}.get(asset_class, "Quantity")


def _prices(asset_class: str, order_type: str, pick: Pick | None, last: float | None, tick: float | None,
            locked: bool):
    """The price inputs the order type needs, stepping by the contract's tick and showing its decimals; a new
    contract's limit price starts at its last price, on the tick. No min_value: the check names a bad value."""
    step, fmt = price_format(asset_class, last, tick)
    limit = stop = trail = None
    trail_type = "amt"
    if order_type in NEEDS_LIMIT and pick is not None:
        marker = (pick.conid, order_type)
        if st.session_state.get(state.PRICED_FOR) != marker or state.LIMIT not in st.session_state:
            st.session_state[state.LIMIT] = round_price(asset_class, last, tick)
            st.session_state[state.PRICED_FOR] = marker
    if order_type == "MKT":
        return limit, stop, trail, trail_type
    cols = iter(st.columns(3 if order_type == "TRAIL" else 2))
    if order_type in NEEDS_STOP:
        label = "Initial stop price" if order_type == "TRAIL" else "Stop price"
        stop = next(cols).number_input(label, step=step, format=fmt, value=None, key=state.STOP,
                                       disabled=locked, help="The price that triggers the order.")
    if order_type in NEEDS_LIMIT:
        limit = next(cols).number_input("Limit price", step=step, format=fmt, value=None,
                                        key=state.LIMIT, disabled=locked,
                                        help="Starts at the last price of the contract you picked.")
    if order_type == "TRAIL":
        trail = next(cols).number_input("Trailing amount", step=step, format=fmt, value=None,
                                        key=state.TRAIL, disabled=locked)
        trail_type = next(cols).radio("Trail by", ["amt", "%"], key=state.TRAIL_TYPE, horizontal=True,
                                      disabled=locked, format_func=lambda t: "amount" if t == "amt" else "percent")
    return limit, stop, trail, trail_type


def _tif(where, asset_class: str, locked: bool) -> str:
    """The time in force, from the class's choices (PAX for crypto only); a TIF chosen for another class gives way
    to this class's default before the widget is drawn, so the TIF shown is the TIF sent."""
    shown = tif_for(asset_class, st.session_state.get(state.TIF), st.session_state.get(state.TIF_FOR))
    if st.session_state.get(state.TIF) != shown:
        st.session_state[state.TIF] = shown
    st.session_state[state.TIF_FOR] = asset_class
    return where.selectbox("Time in force", tifs_for(asset_class), key=state.TIF, disabled=locked,
                           format_func=lambda t: TIF_LABEL.get(t, t)) or shown


def _side(locked: bool) -> str:
    """BUY or SELL, the chosen one in IBKR's colour (blue, red): the theme's red must not make a BUY look like a
    SELL. The keyed container carries the side the widget holds, which the style sheet colours."""
    held = st.session_state.get(state.SIDE) or "BUY"
    with st.container(key=f"ticket-side-{held}"):
        st.html(tables.SIDE_CSS)
        return st.segmented_control("Side", ["BUY", "SELL"], key=state.SIDE, default="BUY", required=True,
                                    disabled=locked) or "BUY"
