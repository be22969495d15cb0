"""Positions: every position of every account, filterable, with P&L, a drill-down and a CSV download."""

import streamlit as st

from ibkr import analytics
from ibkr_desk.ui import fmt, live, loaders, tables
from ibkr_desk.ui.page import context

ctx = context()
st.title("Positions")
df = ctx.frames(marks=True)["positions"]
ccy, masked = ctx.report_ccy, ctx.masked

f = st.columns([2, 2, 2, 3])
classes = f[0].multiselect("Asset class", sorted(df["asset_class"].dropna().unique()), placeholder="All")
currencies = f[1].multiselect("Currency", sorted(df["currency"].dropna().unique()), placeholder="All")
accounts = f[2].multiselect("Account", sorted(df["account"].unique()), placeholder="All")
query = f[3].text_input("Search", placeholder="symbol, description, exchange...")
shown = analytics.filter_positions(df, asset_classes=classes, currencies=currencies, accounts=accounts, text=query)


def table(classes: list[str], currencies: list[str], accounts: list[str], query: str) -> None:
    """The table and the drill-down: redrawn on their own while the stream is live (every 2 s, longer for long
    tables: ``live.table_seconds``; prices and daily P&L of ``services.position_marks``), with the page otherwise."""
    df = ctx.frames(marks=True)["positions"]
    shown = analytics.filter_positions(df, asset_classes=classes, currencies=currencies, accounts=accounts,
                                       text=query)
    total_mv = shown["market_value_report"].sum()
    st.caption(f"{len(shown):,} positions · market value {fmt.money(total_mv, ccy, masked)}",
               help="Market value in the report currency, converted with the ledgers' FX rates. Futures count at "
                    "notional here; net liquidation counts only their P&L.")

    # What a trader reads first comes first; the native-currency detail follows.
    cols = ["account", "symbol", "description", "asset_class", "quantity", "currency", "price", "market_value_report",
            "daily_pnl_report", "daily_pnl_age", "unrealized_pnl_report", "unrealized_pnl_pct", "avg_price",
            "market_value", "unrealized_pnl", "realized_pnl", "avg_cost", "exchange", "country"]
    shown = shown.assign(daily_pnl_age=live.ages(shown["daily_pnl_at"]))
    view = shown[cols].copy()
    # Prices at the decimals each instrument is quoted in (IBKR's marks carry up to 10 digits; the CSV keeps them).
    view["price"] = analytics.rounded_prices(shown, "price")
    view["avg_price"] = analytics.rounded_prices(shown, "avg_price", extra=2)
    view["unrealized_pnl_pct"] = view["unrealized_pnl_pct"] * 100
    money_cols = ["market_value", "market_value_report", "avg_cost", "unrealized_pnl", "unrealized_pnl_report",
                  "realized_pnl", "daily_pnl_report"]  # what privacy hides (prices and percentages reveal no amounts)
    num = st.column_config.NumberColumn
    cfg = {
        "account": "Account", "symbol": st.column_config.TextColumn("Symbol", pinned=True),
        "description": st.column_config.TextColumn("Description", width=170), "asset_class": st.column_config.TextColumn("Class", width=72),
        "exchange": "Exchange", "country": "Country", "currency": "Ccy",
        "quantity": num("Quantity", format=fmt.QUANTITY_FORMAT),
        "price": num("Price", format=fmt.QUANTITY_FORMAT, help=analytics.HELP["price"]),
        "market_value": num("Mkt value (native)", format="%,.0f", help=analytics.HELP["market_value"]),
        "market_value_report": num(f"Mkt value ({ccy})", format="%,.0f", help=analytics.HELP["market_value_base"]),
        "avg_price": num("Avg price", format=fmt.QUANTITY_FORMAT, help=analytics.HELP["avg_price"]),
        "avg_cost": num("Avg cost / contract", format="%,.2f", help=analytics.HELP["avg_cost"]),
        "unrealized_pnl": num("Unrealised (native)", format="%,.0f", help=analytics.HELP["unrealized_pnl"]),
        "unrealized_pnl_report": num(f"Unrealised ({ccy})", format="%,.0f"),
        "daily_pnl_report": num(f"Daily P&L ({ccy})", format="%,.0f", help=analytics.HELP["position_daily_pnl"]),
        "daily_pnl_age": st.column_config.TextColumn("Daily P&L age", width=80,
                                                     help="How old the daily P&L is; — until it was read"),
        "unrealized_pnl_pct": num("Unrealised %", format="%.1f %%", help=analytics.HELP["unrealized_pnl_pct"]),
        "realized_pnl": num("Realised (native)", format="%,.0f", help=analytics.HELP["realized_pnl"]),
    }
    if masked:
        tables.mask(view, cfg, [*money_cols, "quantity"])

    styled = tables.styled(view, pnl=("unrealized_pnl", "unrealized_pnl_report", "unrealized_pnl_pct",
                                      "realized_pnl", "daily_pnl_report"))
    event = st.dataframe(styled, hide_index=True, width="stretch", height=640, column_config=cfg,
                         on_select="rerun", selection_mode="single-row", key="positions_table")

    picked = event.selection.rows if event and event.selection else []
    if picked:
        row = shown.iloc[picked[0]]
        with st.container(border=True):
            st.subheader(f"{row['symbol']} · {row['description']}")
            d = st.columns(4)
            d[0].metric("Quantity", fmt.quantity(row["quantity"], masked))
            d[1].metric("Price", f"{fmt.price(row['price'], row['asset_class'], row['currency'])} {row['currency']}",
                        help=f"IBKR's mark: {fmt.quantity(row['price'])}; average price "
                             f"{fmt.price(row['avg_price'], row['asset_class'], row['currency'], extra=2)}")
            d[2].metric("Market value", fmt.money(row["market_value"], row["currency"], masked))
            d[3].metric("Unrealised P&L", fmt.signed_money(row["unrealized_pnl"], row["currency"], masked),
                        fmt.pct(row["unrealized_pnl_pct"]))
            st.caption(f"Account {row['account']} · {row['asset_class']} on {row['exchange']} · multiplier "
                       f"{row['multiplier']:g} · FX {row['currency']}->{row['base_currency']} {row['fx_rate']:.6g}")


st.fragment(run_every=live.every(ctx.loaded, live.table_seconds(len(shown))))(table)(classes, currencies, accounts,
                                                                                 query)

st.download_button("Download CSV (native and base, FX rate, as-of)", loaders.positions_csv(shown),
                   file_name="ibkr-desk-positions.csv", mime="text/csv", disabled=masked, on_click="ignore")
