"""Currency exposure: net per currency (borrowed balances included), a chart, a table and a what-if."""

import streamlit as st

from ibkr import analytics
from ibkr_desk.ui import figures, fmt
from ibkr_desk.ui.page import context

ctx = context()
st.title("Currency exposure")
frames = ctx.frames()
exposure, by_class = frames["exposure"], frames["exposure_by_class"]
ccy, masked = ctx.report_ccy, ctx.masked
st.caption(analytics.HELP["fx_exposure"])

left, right = st.columns([3, 2])
left.plotly_chart(figures.exposure_bars(exposure, ccy, masked), width="stretch")
right.plotly_chart(figures.exposure_treemap(by_class, ccy, masked), width="stretch")

cols = ["currency", "is_base", "positions_native", "cash_native", "exposure_native", "long_base", "short_base",
        "exposure_base", "pct_of_net_liquidation"]
view = exposure[cols].copy()
view["pct_of_net_liquidation"] = view["pct_of_net_liquidation"] * 100
money = ["positions_native", "cash_native", "exposure_native", "long_base", "short_base", "exposure_base"]
if masked:
    view[money] = fmt.MASK
num = st.column_config.NumberColumn
cfg = {"currency": "Currency", "is_base": st.column_config.CheckboxColumn("Base", help=analytics.HELP["is_base"]),
       "pct_of_net_liquidation": num("% of net liq.", format="%.1f %%", help=analytics.HELP["pct_of_net_liquidation"])}
if not masked:
    cfg.update({"positions_native": num("Positions (native)", format="%,.0f"),
                "cash_native": num("Cash (native)", format="%,.0f", help="Ledger cash; negative = borrowed"),
                "exposure_native": num("Net (native)", format="%,.0f"),
                "long_base": num(f"Long ({ccy})", format="%,.0f"), "short_base": num(f"Short ({ccy})", format="%,.0f"),
                "exposure_base": num(f"Net ({ccy})", format="%,.0f", help=analytics.HELP["fx_exposure"])})
st.dataframe(view, hide_index=True, width="stretch", column_config=cfg)

st.subheader("What if a currency moves?")
foreign = exposure.loc[~exposure["is_base"], "currency"].tolist()
if foreign:
    w = st.columns([1, 2])
    pick = w[0].selectbox("Currency", foreign)
    move = w[1].slider(f"{pick} against {ccy}, %", -20.0, 20.0, -5.0, 0.5)
    sens = analytics.fx_sensitivity(exposure, {pick: move / 100})
    change = float(sens["nlv_change"].iloc[0])
    st.metric(f"Net liquidation change if {pick} moves {move:+.1f} %", fmt.signed_money(change, ccy, masked),
              fmt.pct(float(sens["nlv_change_pct"].iloc[0]), 2), help=analytics.HELP["fx_sensitivity"])
