"""Live orders (status, filled, remaining, price) with cancel and modify, and the trades of the last 7 days.

Both sections are fragments that redraw every few seconds from what the process's background readers hold
(``services.order_book``, :mod:`ibkr.order_book`): every account read with its own ``accountId``, at most one
live-orders and one trades request per 5 s whatever the number of viewers. While the stream is live
(``services.live``) they redraw every second with what it said since over the last REST read
(:func:`ibkr.live.merge_orders`), and the REST readers only check now and then.
The frames are ``ibkr.analytics.orders``; the submissions ``ibkr.orders.submission``.
"""

from __future__ import annotations

import datetime as dt
import logging

import streamlit as st

from ibkr.analytics.orders import order_kind, orders_frame, trades_frame
from ibkr.live import merge_orders, merge_trades
from ibkr.models import Order
from ibkr.order_book import BookReader
from ibkr.orders.entry import modify_problems, price_format
from ibkr.orders.submission import OrderFlow, Stage, clear, run
from ibkr_desk.ui import fmt, services, state, tables
from ibkr_desk.ui.live import LIVE_SECONDS as STREAM_REDRAW_SECONDS
from ibkr_desk.ui.live import paced
from ibkr_desk.ui.orders import lookups
from ibkr_desk.ui.orders.lookups import refresh
from ibkr_desk.ui.orders.submission import begin_or_say, draw_flow, paused_for_answers, refused
from ibkr_desk.ui.services import LIVE_SECONDS, STREAMING_SECONDS, TRADES_SECONDS

log = logging.getLogger(__name__)
WORKING = ("PendingSubmit", "PreSubmitted", "Submitted")
REDRAW_SECONDS = 3  # the fragments redraw from the readers' cache; a fill shows within a read round plus this


def _read(what: str, account_ids: list[str], reader: BookReader) -> tuple[list, dt.datetime | None] | None:
    """What the background reader holds for the accounts shown (each read with its own ``accountId``: IBKR
    answers without one for the selected account only), and the oldest time among them; notes for accounts
    that failed or wait. None (with a note) while nothing was read yet."""
    status = reader.status()
    waiting = services.submissions().awaiting_answers()
    if waiting is not None:  # IBKR cancels an order whose question waits while other order requests go in
        st.caption(f":material/pause: Not refreshed while IBKR waits for the answer to its question about "
                   f"{waiting.title}")
    book = reader.book()
    if not book:
        if status.error:
            st.warning(f"Could not load the {what}: {status.error}", icon=":material/warning:")
        else:
            st.caption(f":material/hourglass_top: Loading the {what} of every account...")
        return None
    shown = [book[a] for a in account_ids if a in book] if account_ids else list(book.values())
    found = [item for read in shown for item in read.items]
    times = [r.as_of for r in shown if r.as_of]
    oldest = min(times) if times else None
    several = len(shown) > 1
    failed = [f"{a}: {r.error}" if several else r.error for a, r in book.items()
              if r.error and (not account_ids or a in account_ids)]
    if status.error:
        failed.insert(0, status.error)
    if failed:
        st.warning(f"Showing the {what} as of {fmt.stamp(oldest) if oldest else 'never'}: {'; '.join(failed)}",
                   icon=":material/history:")
    return found, oldest


def _redraw_seconds() -> float:
    return paced(STREAM_REDRAW_SECONDS) if services.live().live else REDRAW_SECONDS


def _refresh_note(seconds: float) -> str:
    if services.live().live:
        return f"streaming: changes show within a second or two · checked over REST every {STREAMING_SECONDS:g} s"
    return f"refreshes every {seconds:g} s or more (each account on its own)"


def live_orders(account_ids: list[str], blocked: str | None, masked: bool) -> None:
    """The live orders section: a fragment redrawn every second while the stream is live, every few otherwise."""
    st.fragment(run_every=_redraw_seconds(), parallel=True)(_live_orders)(account_ids, blocked, masked)


def trades(account_ids: list[str], masked: bool) -> None:
    """The trades section, redrawn as :func:`live_orders` is."""
    st.fragment(run_every=_redraw_seconds(), parallel=True)(_trades)(account_ids, masked)


def _live_orders(account_ids: list[str], blocked: str | None, masked: bool) -> None:
    """The live orders and the modify / cancel of a working one (``blocked``: why this session may not)."""
    st.subheader("Live orders")
    read = _read("live orders", account_ids, services.order_book().live)
    if read is None:
        return
    orders, as_of = read
    streamed, heard = services.live().orders()
    orders = merge_orders(orders, streamed, heard, as_of.timestamp() if as_of else None, account_ids)
    if account_ids:
        orders = [o for o in orders if not o.account_id or o.account_id in account_ids]
    frame = orders_frame(orders)
    working = [o for o in orders if o.status in WORKING]
    # an empty blotter still shows its columns: the browser then has the table ready when the first order comes
    num = st.column_config.NumberColumn
    config = {
        "order_id": st.column_config.TextColumn("Order"), "account": "Account", "instrument": "Instrument",
        "asset_class": "Class", "side": "Side", "type": "Type",
        "quantity": num("Quantity", format=fmt.QUANTITY_FORMAT), "filled": num("Filled", format=fmt.QUANTITY_FORMAT),
        "remaining": num("Remaining", format=fmt.QUANTITY_FORMAT),
        "price": num("Price", format=fmt.QUANTITY_FORMAT, help="Limit price (stop price for STP and TRAIL)"),
        "stop": num("Stop", format=fmt.QUANTITY_FORMAT), "avg_price": num("Avg fill", format=fmt.QUANTITY_FORMAT),
        "tif": "TIF", "status": "Status",
        "updated": st.column_config.DatetimeColumn("Updated", format="YYYY-MM-DD HH:mm:ss Z"), "coid": "cOID"}
    if masked:
        tables.mask(frame, config, ["quantity", "filled", "remaining"])
    st.dataframe(tables.styled(frame, side="side"), hide_index=True, width="stretch", key="order_book_table",
                 column_config=config)
    st.caption(f"{len(working)} working of {len(frame)} in this brokerage session · {_refresh_note(LIVE_SECONDS)} · "
               f"read as of {fmt.stamp(as_of) if as_of else '?'}")
    _actions(working, blocked)


def _actions(working: list[Order], blocked: str | None) -> None:
    trading_enabled = blocked is None
    refused(state.BOOK_FLOW)
    flow = st.session_state.get(state.BOOK_FLOW)
    if flow is not None:
        draw_flow(flow, state.BOOK_FLOW)
        if flow.active:
            return
    if not working:
        return
    with st.container(border=True):
        by_id = {o.order_id: o for o in working}
        picked = st.selectbox("Working order to change or cancel", list(by_id), key="order_book_pick",
                              format_func=lambda oid: _label(by_id[oid]))  # by id: a new price keeps the choice
        order = by_id.get(picked, working[0])
        st.caption(_now(order))
        seq = st.session_state.get(state.BOOK_SEQ, 0)
        kind = order_kind(order)
        cols = st.columns(4)
        oid = order.order_id
        quantity = cols[0].number_input("New quantity", value=float(order.total_size or 0), step=1.0,
                                        format="%.10g", key=f"order_mod_qty_{oid}", disabled=not trading_enabled)
        tick = lookups.tick(order.conid) if order.conid else None
        step, shown = price_format(order.sec_type or "", order.price, tick)
        changes: dict[str, float] = {}
        problems: list[str] = []
        if quantity != (order.total_size or 0):
            changes["quantity"] = quantity
        if kind in ("LMT", "STOP_LIMIT") and order.price is not None:
            limit = cols[1].number_input("New limit price", value=float(order.price), format=shown, step=step,
                                         key=f"order_mod_limit_{oid}", disabled=not trading_enabled)
            if abs(limit - order.price) > 1e-12:
                changes["limit_price"] = limit
        stop_now = order.aux_price if kind == "STOP_LIMIT" else order.price if kind == "STP" else None
        if stop_now is not None:
            stop = cols[2].number_input("New stop price", value=float(stop_now), format=shown, step=step,
                                        key=f"order_mod_stop_{oid}", disabled=not trading_enabled)
            if abs(stop - stop_now) > 1e-12:
                changes["stop_price"] = stop
        problems = modify_problems(changes, order.description1 or order.ticker or "", tick)
        for problem in problems:
            st.error(problem, icon=":material/pan_tool:")
        # on_click: sent at the start of the rerun the click causes, before anything else is loaded
        paused = paused_for_answers(st.session_state.get(state.BOOK_FLOW))
        cols[3].button(f"Modify order {oid}", key=f"order_modify_{oid}_{seq}", width="stretch",
                       disabled=not trading_enabled or not changes or bool(problems) or paused is not None,
                       icon=":material/edit:", on_click=_send, args=(order, dict(changes)))
        cols[3].button(f"Cancel order {oid}", key=f"order_cancel_{oid}_{seq}", width="stretch",
                       disabled=not trading_enabled or paused is not None, icon=":material/close:",
                       on_click=_send, args=(order, None))
        if paused:
            st.caption(paused)
        if blocked:
            st.caption(blocked)


def _label(o: Order) -> str:
    """What never changes while an order works (a label that changed would reset the picker to the first order)."""
    return f"{o.order_id} · {o.account_id} · {o.side} {o.description1 or o.ticker or ''} {order_kind(o)}"


def _now(o: Order) -> str:
    price = f" at {fmt.quantity(o.price)}" if o.price is not None else ""
    stop = f", stop {fmt.quantity(o.aux_price)}" if o.aux_price is not None else ""
    return (f"Now: {o.side} {fmt.quantity(o.total_size or 0)} {o.description1 or o.ticker or ''} {order_kind(o)}"
            f"{price}{stop} · filled {fmt.quantity(o.filled_quantity or 0)}, remaining "
            f"{fmt.quantity(o.remaining_quantity or 0)} · {o.status}")


def _send(order: Order, changes: dict[str, float] | None) -> None:
    """Modify (``changes``) or cancel one order: registered first, sent once, recorded on the flow (a button
    callback)."""
    client = services.client()
    account = order.account_id or ""
    what = ", ".join(f"{k.replace('_', ' ')} {fmt.quantity(v)}" for k, v in (changes or {}).items())
    name = order.description1 or order.ticker or ""
    title = (f"Modify order {order.order_id} ({what})" if changes is not None
             else f"Cancel order {order.order_id} ({order.side} {fmt.quantity(order.total_size or 0)} {name})")
    last = st.session_state.get(state.BOOK_FLOW)
    if (last is not None and last.title == title and last.stage not in (Stage.REJECTED, Stage.NOT_SENT)
            and (dt.datetime.now().astimezone() - last.started_at).total_seconds() < 10):
        log.info("%s was sent %s; not sending it again", title, last.started_at)  # a click delivered twice
        return
    st.session_state[state.BOOK_SEQ] = st.session_state.get(state.BOOK_SEQ, 0) + 1
    clear(st.session_state, state.BOOK_FLOW)
    flow = begin_or_say(state.BOOK_FLOW, OrderFlow("modify" if changes is not None else "cancel", title, account))
    if flow is not None:
        if changes is not None:
            run(flow, client, lambda: client.modify(account, order.order_id, changes))
        else:
            run(flow, client, lambda: client.cancel(account, order.order_id))
    refresh(account)


def _trades(account_ids: list[str], masked: bool) -> None:
    st.subheader("Trades, last 7 days")
    read = _read("trades", account_ids, services.order_book().trades)
    if read is None:
        return
    found, _ = read
    found = merge_trades(found, services.live().trades(), account_ids)
    if account_ids:
        found = [t for t in found if (t.account or t.account_code) in account_ids]
    frame = trades_frame(found)  # shown empty too, as the live orders are
    num = st.column_config.NumberColumn
    config = {
        "time": st.column_config.DatetimeColumn("Time", format="YYYY-MM-DD HH:mm:ss Z"), "account": "Account",
        "instrument": "Instrument", "asset_class": "Class", "side": "Side",
        "quantity": num("Quantity", format=fmt.QUANTITY_FORMAT),
        "price": num("Price", format=fmt.QUANTITY_FORMAT), "commission": num("Commission", format="%,.2f"),
        "net_amount": num("Net amount", format="%,.2f"), "exchange": "Exchange",
        "order_id": st.column_config.NumberColumn("Order", format="%d"), "coid": "cOID", "execution_id": "Execution"}
    if masked:
        tables.mask(frame, config, ["quantity", "commission", "net_amount"])
    st.dataframe(tables.styled(frame, side="side"), hide_index=True, width="stretch", column_config=config)
    st.caption(f"{len(frame)} execution{'s' if len(frame) != 1 else ''} · {_refresh_note(TRADES_SECONDS)}")
