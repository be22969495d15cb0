"""The what-if preview: commission, equity and margin before / change / after, a chart, and the margin
utilisation the order would leave. The figures are ``ibkr.analytics.whatif``; this module draws them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ibkr.analytics import HELP, utilisation_status, whatif_table, whatif_utilisation
from ibkr.errors import IbkrError
from ibkr.models import WhatIf
from ibkr.orders.entry import fingerprint
from ibkr_desk import auth
from ibkr_desk.ui import figures, fmt, services, state
from ibkr_desk.ui.orders.text import ibkr_markdown
from ibkr_desk.ui.orders.ticket import TicketView


def markdown_table(whatif: WhatIf, ccy: str, masked: bool) -> str:
    """Before / change / after of equity with loan value and margin, as a markdown table."""
    lines = [f"| {ccy} | Before | Change | After |", "|---|--:|--:|--:|"]
    for _, row in whatif_table(whatif).iterrows():
        label = row["figure"]
        cells = [fmt.money(row["current"], "", masked), fmt.signed_money(row["change"], "", masked),
                 fmt.money(row["after"], "", masked)]
        if label.startswith("Position"):
            cells = ["—" if v is None or pd.isna(v) else f"{v:+,.10g}" if i == 1 else f"{v:,.10g}"
                     for i, v in enumerate((row["current"], row["change"], row["after"]))]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def button(view: TicketView) -> None:
    """The Preview button: asks IBKR's what-if for this exact ticket and keeps the answer with its fingerprint."""
    ticket = view.check.ticket
    # One help text whatever the state: a widget whose parameters change is a new widget, drawn beside the old.
    waiting = services.submissions().awaiting_answers() is not None
    clicked = st.button("Preview (what-if)", icon=":material/query_stats:", disabled=ticket is None or waiting,
                        width="stretch", key="order_preview_button",
                        help="Asks IBKR what the order would cost and do to margin; sends nothing. Waits while IBKR "
                             "waits for the answer to a question (a preview then would make IBKR cancel that order).")
    if clicked and ticket is not None:
        try:
            with st.spinner("Asking IBKR for a what-if preview..."):
                result: WhatIf | str = services.client().whatif(ticket)
        except IbkrError as exc:
            result = exc.message
        try:  # in the audit log before it is shown
            services.audit().record(auth.actor(), "preview", account=ticket.account_id, order=ticket.describe(),
                                    outcome=result if isinstance(result, str) else "what-if answered",
                                    whatif=None if isinstance(result, str) else result.model_dump(mode="json"))
        except IbkrError as exc:  # the audit log cannot be written
            result = f"The preview is not shown: {exc.message}."
        st.session_state[state.PREVIEW] = (fingerprint(ticket), result)


def current(view: TicketView) -> WhatIf | None:
    """The last what-if, if it was of this exact ticket (and IBKR answered it)."""
    stored = st.session_state.get(state.PREVIEW)
    ticket = view.check.ticket
    if stored is None or ticket is None or stored[0] != fingerprint(ticket) or isinstance(stored[1], str):
        return None
    return stored[1]


def details(view: TicketView, base_ccy: str | None, masked: bool) -> None:
    """The last preview, if it was of this exact ticket."""
    ticket = view.check.ticket
    stored = st.session_state.get(state.PREVIEW)
    if stored is None:
        return
    if ticket is None or stored[0] != fingerprint(ticket):
        st.caption("The ticket changed since the last preview: preview again.")
        return
    if isinstance(stored[1], str):
        st.error(stored[1], icon=":material/block:")
        return
    draw(stored[1], base_ccy or "", masked)


def draw(whatif: WhatIf, ccy: str, masked: bool) -> None:
    if whatif.error:
        st.error(f"IBKR's what-if error:  \n{ibkr_markdown(whatif.error)}", icon=":material/block:")
    if whatif.warning:
        st.warning(f"IBKR's what-if warning:  \n{ibkr_markdown(whatif.warning)}", icon=":material/warning:")
    amount = whatif.amount
    unit = amount.currency or ""
    st.markdown(f"Commission **{fmt.money(amount.commission, unit, masked, decimals=2)}** · order value "
                f"{fmt.money(amount.amount, unit, masked, decimals=2)} · total "
                f"**{fmt.money(amount.total, unit, masked, decimals=2)}**",
                help=f"IBKR's strings: {amount.text.get('amount') or '—'}; commission "
                     f"{amount.text.get('commission') or '—'}; total {amount.text.get('total') or '—'}")
    st.markdown(markdown_table(whatif, ccy, masked))
    util = whatif_utilisation(whatif)
    warning, danger = services.settings().margin_thresholds
    level = utilisation_status(util.maint_after, warning, danger)  # IBKR liquidates on maintenance margin
    text = (f"Margin utilisation it would leave: **maintenance {fmt.pct(util.maint_after, 2)}** (now "
            f"{fmt.pct(util.maint_before, 2)}), initial {fmt.pct(util.initial_after, 2)} (now "
            f"{fmt.pct(util.initial_before, 2)}).")
    {"danger": st.error, "warning": st.warning}.get(level, st.success)(
        text + ("" if level in ("ok", "unknown") else f" Above the {level} level "
                f"({(danger if level == 'danger' else warning):.0%})."),
        icon={"danger": ":material/error:", "warning": ":material/warning:"}.get(level, ":material/check_circle:"))
    st.caption(f"{HELP['utilisation_maint']} {HELP['utilisation_initial']} Amounts in the account's base currency ({ccy or '?'}).")
    st.plotly_chart(figures.whatif_bars(whatif, ccy, masked), width="stretch", config={"displayModeBar": False})
