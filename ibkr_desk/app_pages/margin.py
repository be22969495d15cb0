"""Margin: requirements, utilisation against thresholds, cushion and the drop to a margin call."""

import streamlit as st

from ibkr import analytics
from ibkr_desk.ui import figures, fmt, services
from ibkr_desk.ui.page import context

ctx = context()
st.title("Margin")
m = ctx.frames()["margin"]
ccy, masked = ctx.report_ccy, ctx.masked
warning, danger = services.settings().margin_thresholds
total = m[m["account"] == analytics.TOTAL_LABEL].iloc[0]

c = st.columns(4)
c[0].metric("Initial utilisation", fmt.pct(total["utilisation_initial"]), help=analytics.HELP["utilisation_initial"])
c[1].metric("Maintenance utilisation", fmt.pct(total["utilisation_maint"]), help=analytics.HELP["utilisation_maint"])
c[2].metric("Cushion", fmt.pct(total["cushion"]), help=analytics.HELP["cushion"])
# Margin is called per account, so the headline is the account closest to a call, not the consolidated figure.
nearest = analytics.nearest_margin_call(m)
several = (m["account"] != analytics.TOTAL_LABEL).sum() > 1
named = nearest is not None and several and nearest["drop_to_margin_call"] < 1  # "none" names no account
c[3].metric("Drop to margin call" + (f" ({nearest['account']})" if named else ""),
            fmt.drop(nearest["drop_to_margin_call"] if nearest is not None else total["drop_to_margin_call"]),
            help=analytics.HELP["drop_to_margin_call"] + " The headline is the account nearest to a margin call.")
c = st.columns(3)
c[0].metric("Excess liquidity", fmt.money(total["excess_liquidity"], ccy, masked),
            help=analytics.HELP["excess_liquidity"])
c[1].metric("Available funds", fmt.money(total["available_funds"], ccy, masked), help=analytics.HELP["available_funds"])
c[2].metric("Equity with loan value", fmt.money(total["equity_with_loan"], ccy, masked),
            help=analytics.HELP["equity_with_loan"])

for _, r in m[m["account"] != analytics.TOTAL_LABEL].iterrows():
    alert = fmt.margin_alert(r, warning, danger)
    if alert:
        (st.error if r["status"] == "danger" else st.warning)(alert, icon=":material/warning:")

per = m[m["account"] != analytics.TOTAL_LABEL]
st.plotly_chart(figures.utilisation_bars(per, warning, danger), width="stretch")

cols = ["account", "utilisation_initial", "utilisation_maint", "cushion", "drop_to_margin_call", "status",
        "init_margin", "maint_margin", "equity_with_loan", "excess_liquidity", "available_funds", "buying_power", "sma",
        "lookahead_init_margin", "lookahead_maint_margin"]
view = m[cols].copy()
for col in ("utilisation_initial", "utilisation_maint", "cushion"):
    view[col] = view[col] * 100
view["drop_to_margin_call"] = view["drop_to_margin_call"].map(fmt.drop)  # as in the headline: none from 100 %
money = ["init_margin", "maint_margin", "equity_with_loan", "excess_liquidity", "available_funds", "buying_power",
         "sma", "lookahead_init_margin", "lookahead_maint_margin"]
if masked:
    view[money] = fmt.MASK
num = st.column_config.NumberColumn
cfg = {k: num(label, format="%,.0f") for k, label in [
    ("init_margin", f"Initial req. ({ccy})"), ("maint_margin", f"Maint. req. ({ccy})"),
    ("equity_with_loan", "Equity w/ loan"), ("excess_liquidity", "Excess liquidity"),
    ("available_funds", "Available funds"), ("buying_power", "Buying power"), ("sma", "SMA"),
    ("lookahead_init_margin", "Look-ahead initial"), ("lookahead_maint_margin", "Look-ahead maint.")]} if not masked else {}
cfg.update({
    "account": st.column_config.TextColumn("Account", pinned=True), "status": "Status",
    "utilisation_initial": num("Initial util.", format="%.1f %%", help=analytics.HELP["utilisation_initial"]),
    "utilisation_maint": num("Maint. util.", format="%.1f %%", help=analytics.HELP["utilisation_maint"]),
    "cushion": num("Cushion", format="%.1f %%", help=analytics.HELP["cushion"]),
    "drop_to_margin_call": st.column_config.TextColumn("Drop to call", help=analytics.HELP["drop_to_margin_call"]),
})
st.dataframe(view, hide_index=True, width="stretch", column_config=cfg)
st.caption(f"Thresholds: warning at {warning:.0%}, danger at {danger:.0%} (IBKR_MARGIN_WARNING_PCT / "
           "IBKR_MARGIN_DANGER_PCT). Amounts in the report currency; totals are sums, ratios recomputed from sums.")
