"""Overview: per account and consolidated, in the report currency."""

import streamlit as st

from ibkr import analytics
from ibkr_desk import auth
from ibkr_desk.ui import figures as charts
from ibkr_desk.ui import fmt, live, services
from ibkr_desk.ui.page import context

HISTORY_DAYS = 7

ctx = context()
st.title("Overview")
frames = ctx.frames()
exposure = frames["exposure"]
ccy, masked = ctx.report_ccy, ctx.masked


def figures() -> None:
    """The headline figures and the accounts table: redrawn on their own (``live.LIVE_SECONDS``) while the stream is live
    (the stream's P&L, net liquidation and excess liquidity over the snapshot's), with the page otherwise."""
    frames = ctx.frames(live=True)
    totals, margin = frames["totals"], frames["margin"]
    total = totals[totals["account"] == analytics.TOTAL_LABEL].iloc[0]
    mtotal = margin[margin["account"] == analytics.TOTAL_LABEL].iloc[0]

    c = st.columns(3) + st.columns(3)
    c[0].metric("Net liquidation", fmt.money(total["net_liquidation_report"], ccy, masked),
                help=analytics.HELP["net_liquidation"])
    c[1].metric("Daily P&L", fmt.signed_money(total["daily_pnl_report"], ccy, masked),
                help=analytics.HELP["daily_pnl"])
    c[2].metric("Unrealised P&L", fmt.signed_money(total["unrealized_pnl_report"], ccy, masked),
                help=analytics.HELP["unrealized_pnl"])
    c[3].metric("Realised P&L", fmt.signed_money(total["realized_pnl_report"], ccy, masked),
                help=analytics.HELP["realized_pnl"])
    c[4].metric("Margin utilisation (maint.)", fmt.pct(mtotal["utilisation_maint"]),
                help=analytics.HELP["utilisation_maint"])
    c[5].metric("Cushion", fmt.pct(mtotal["cushion"]), help=analytics.HELP["cushion"])
    accounts_table(totals, margin)


def accounts_table(totals, margin) -> None:
    st.subheader("Accounts")
    rows = totals.merge(margin[["account", "utilisation_initial", "utilisation_maint", "cushion", "status"]],
                        on="account", how="left")
    view = rows[["account", "base_currency", "positions", "net_liquidation_report", "daily_pnl_report",
                 "unrealized_pnl_report", "realized_pnl_report", "utilisation_maint", "cushion", "status"]].copy()
    for col in ("utilisation_maint", "cushion"):
        view[col] = view[col] * 100
    view["base_currency"] = view["base_currency"].fillna("")  # the Total row of accounts in several currencies
    money_cfg = (lambda label: st.column_config.NumberColumn(label, format="%,.0f")) if not masked else (
        lambda label: st.column_config.TextColumn(label))
    if masked:
        for col in ("net_liquidation_report", "daily_pnl_report", "unrealized_pnl_report", "realized_pnl_report"):
            view[col] = fmt.MASK
    st.dataframe(view, hide_index=True, width="stretch", column_config={
        "account": "Account", "base_currency": "Base", "positions": st.column_config.NumberColumn("Positions"),
        "net_liquidation_report": money_cfg(f"Net liq. ({ccy})"), "daily_pnl_report": money_cfg(f"Daily P&L ({ccy})"),
        "unrealized_pnl_report": money_cfg(f"Unrealised ({ccy})"), "realized_pnl_report": money_cfg(f"Realised ({ccy})"),
        "utilisation_maint": st.column_config.ProgressColumn("Maint. utilisation", format="%.1f %%", min_value=0,
                                                             max_value=100, help=analytics.HELP["utilisation_maint"],
                                                             color="#58a6ff"),
        "cushion": st.column_config.NumberColumn("Cushion", format="%.1f %%", help=analytics.HELP["cushion"]),
        "status": "Margin status"})


st.fragment(run_every=live.every(ctx.loaded))(figures)()

left, right = st.columns(2)
with left:
    st.subheader("Largest currency exposures")
    top = exposure[~exposure["is_base"]].head(5)
    for _, r in top.iterrows():
        st.markdown(f"**{r['currency']}** {fmt.signed_money(r['exposure_base'], ccy, masked)} · "
                    f"{fmt.pct(r['pct_of_net_liquidation'])} of net liquidation")
with right:
    st.plotly_chart(charts.pnl_by_asset_class(frames["positions"], ccy, masked), width="stretch")

st.subheader("Trend")
trend = services.history().frame(ctx.account_ids, days=HISTORY_DAYS)
if trend.empty:
    st.info(f"No history yet: each account's figures are recorded every {services.settings().history_minutes:g} "
            "minutes while the dashboard runs, and the trend appears here after the first.",
            icon=":material/timeline:")
else:
    hide_ids = auth.masks_accounts()
    st.plotly_chart(charts.history_lines(trend, lambda a: fmt.account(a, hide_ids), masked), width="stretch")
    st.caption(f"Net liquidation and daily P&L of each account in its base currency, the last {HISTORY_DAYS} days, "
               f"a point every {services.settings().history_minutes:g} minutes at most.")
