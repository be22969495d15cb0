"""Orders: a ticket across asset classes with a what-if preview and IBKR's questions, live orders, trades."""

import streamlit as st

from ibkr.errors import IbkrError
from ibkr.gateway import AuthState
from ibkr_desk import auth
from ibkr_desk.ui import fmt, services, tables
from ibkr_desk.ui.orders import book, lookups, preview, submission, ticket
from ibkr_desk.ui.page import context

ctx = context()
settings = services.settings()
st.title("Orders")
blocked = submission.cannot_send()
if not settings.trading_enabled:
    st.caption(":material/lock: Preview only: IBKR_TRADING_ENABLED is false, so the ticket can preview but not send.")
elif blocked:
    st.caption(f":material/lock: Preview only: {blocked}")
if services.gateway().state != AuthState.AUTHENTICATED:
    st.info("The order ticket needs a logged-in gateway session (see the message above).", icon=":material/key:")
    st.stop()
try:
    tradable = lookups.tradable_accounts()
except IbkrError as exc:
    st.error(f"Could not read the accounts this session may trade: {exc.message}")
    st.stop()

snap = ctx.loaded.snapshot
accounts = snap.account_ids if snap else []
labels = {a.account_id: f"Base currency {a.currency} · {a.display_name or ''}".rstrip(" ·")
          for a in (snap.accounts if snap else [])}
default = ctx.account_ids[0] if len(ctx.account_ids) == 1 else None
flow = submission.current()

left, right = st.columns([5, 4], gap="large")
with left, st.container(border=True):
    st.subheader("Ticket")
    view = ticket.render(accounts, tradable, labels, default, locked=bool(flow and flow.active))
    if view.check.hint:
        st.info(view.check.hint, icon=":material/search:")
    for error in view.check.errors:
        st.error(error, icon=":material/pan_tool:")
    for warning in view.check.warnings:
        st.warning(warning, icon=":material/warning:")
    if view.check.ok:
        st.caption(f"Ticket: {tables.side_markdown(fmt.escape(view.check.ticket.describe()))} · account {fmt.account(view.input.account_id, auth.masks_accounts())}")
with right:
    st.subheader("Preview and submit")
    if view.check.ticket is None:
        st.caption("Preview asks IBKR what the order would cost and do to margin; Submit sends it. Both wait for a "
                   "complete ticket.")
    account = view.input.account_id
    base = snap.base_currency.get(account) if snap and account else None
    over_limits = ticket.limits(view, snap, preview.current(view), settings.order_limits)
    for problem in over_limits:
        st.error(problem, icon=":material/back_hand:")
    buttons = st.columns(2)
    with buttons[0]:
        preview.button(view)
    with buttons[1]:
        submission.button(view, blocked, over_limits)
    submission.panel(blocked)
    preview.details(view, base, ctx.masked)

book.live_orders(ctx.account_ids, blocked, ctx.masked)
book.trades(ctx.account_ids, ctx.masked)
