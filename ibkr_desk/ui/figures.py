"""Plotly figure builders: pure functions of analytics frames and models, no Streamlit calls."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ibkr.models import WhatIf

GREEN, RED, AMBER, GREY = "#2ea043", "#f85149", "#d29922", "#8b949e"
LAYOUT = dict(template="plotly_dark", margin=dict(l=10, r=10, t=40, b=10), paper_bgcolor="rgba(0,0,0,0)",
              plot_bgcolor="rgba(0,0,0,0)", font=dict(size=13))


def exposure_bars(exposure: pd.DataFrame, report_ccy: str, masked: bool = False) -> go.Figure:
    """Diverging bars: net exposure per currency in the report currency; borrowed (short) currencies go left."""
    df = exposure[~exposure["is_base"]].copy() if "is_base" in exposure else exposure.copy()
    df = df.sort_values("exposure_base")
    colors = [GREEN if v >= 0 else RED for v in df["exposure_base"]]
    fig = go.Figure(go.Bar(
        x=df["exposure_base"], y=df["currency"], orientation="h", marker_color=colors,
        text=None if masked else [_compact(v) for v in df["exposure_base"]], textposition="auto", cliponaxis=False,
        customdata=df[["exposure_native", "pct_of_net_liquidation"]].to_numpy(),
        hovertemplate=("%{y}: %{x:,.0f} " + report_ccy + "<br>native %{customdata[0]:,.0f}"
                       "<br>%{customdata[1]:.1%} of net liquidation<extra></extra>") if not masked else "%{y}<extra></extra>",
    ))
    fig.update_layout(title=f"Net FX exposure by currency ({report_ccy}; base currency excluded)", **LAYOUT,
                      height=max(260, 48 * len(df) + 90), showlegend=False)
    fig.update_xaxes(showticklabels=not masked, zeroline=True, zerolinecolor=GREY, tickformat="~s",
                     range=label_room(df["exposure_base"]))
    return fig


LABEL_ROOM = 0.25
"""How far beyond its longest bar each side of a bar chart's axis reaches, as a share of the axis' span: a label
drawn outside a short bar (``-255.2k``) must fit inside the plot, or it is cut to ``5.2k`` and loses its sign."""


def label_room(values: pd.Series) -> list[float]:
    """An x-axis range for horizontal bars of ``values`` with room for labels outside the bars on both sides."""
    lo, hi = min(0.0, float(values.min() or 0)), max(0.0, float(values.max() or 0))
    span = (hi - lo) or 1.0
    return [lo - LABEL_ROOM * span if lo < 0 else 0.0, hi + LABEL_ROOM * span if hi > 0 else 0.0]


def _compact(value: float) -> str:
    """12_345_678 -> '12.3M' (bar labels; the exact figure is in the hover and the table)."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:,.1f}{suffix}"
    return f"{value:,.0f}"


def exposure_treemap(by_class: pd.DataFrame, report_ccy: str, masked: bool = False) -> go.Figure:
    """Foreign currency -> asset class (a short side on its own tile), sized by absolute exposure, long green and
    short red. Labels that do not fit their tile are hidden rather than shrunk; the hover has every figure."""
    df = by_class[(by_class["abs_exposure_base"] > 0) & ~by_class["is_base"]].copy()
    df["side"] = df["side"].fillna("long")
    df["label"] = df["asset_class"].astype(str) + df["side"].map({"short": " short"}).fillna("")
    df["id"] = df["currency"] + "/" + df["label"]
    parents = df.groupby("currency", as_index=False)["abs_exposure_base"].sum()
    ids = [*parents["currency"], *df["id"]]
    fig = go.Figure(go.Treemap(
        ids=ids, labels=[*parents["currency"], *df["label"]], parents=[""] * len(parents) + list(df["currency"]),
        values=[*parents["abs_exposure_base"], *df["abs_exposure_base"]], branchvalues="total",
        marker=dict(colors=["#30363d"] * len(parents) + [RED if s == "short" else GREEN for s in df["side"]],
                    line=dict(color="#0e1117", width=1)),
        texttemplate="%{label}" if masked else "%{label}<br>%{value:,.3s}",
        hovertemplate="%{id}<extra></extra>" if masked else
        "%{id}: %{value:,.0f} " + report_ccy + "<br>%{percentParent:.1%} of %{parent}<extra></extra>",
        textfont=dict(size=14), pathbar=dict(visible=False), tiling=dict(pad=2),
    ))
    fig.update_layout(title=f"By currency and asset class ({report_ccy}, gross)", **LAYOUT,
                      height=max(420, 48 * len(parents) + 90), uniformtext=dict(minsize=11, mode="hide"))
    return fig


def utilisation_bars(margin: pd.DataFrame, warning: float, danger: float) -> go.Figure:
    """Initial and maintenance utilisation per account with the warning and danger thresholds."""
    df = margin.copy()
    fig = go.Figure()
    for col, name, color in (("utilisation_initial", "Initial", "#58a6ff"), ("utilisation_maint", "Maintenance",
                                                                             "#a371f7")):
        fig.add_bar(x=df["account"], y=df[col], name=name, marker_color=color,
                    hovertemplate="%{x} " + name + ": %{y:.1%}<extra></extra>")
    for level, color, label in ((warning, AMBER, "warning"), (danger, RED, "danger")):
        fig.add_hline(y=level, line_dash="dash", line_color=color, annotation_text=f"{label} {level:.0%}",
                      annotation_position="right", annotation_font_color=color)
    top = max(1.0, float(df[["utilisation_initial", "utilisation_maint"]].max().max() or 0) * 1.1)
    fig.update_layout(title="Margin utilisation (requirement / equity with loan value)", barmode="group",
                      **{**LAYOUT, "margin": dict(l=10, r=100, t=40, b=10)}, height=360,
                      legend=dict(orientation="h", y=-0.15))
    fig.update_yaxes(tickformat=".0%", range=[0, top])
    return fig


def pnl_by_asset_class(positions: pd.DataFrame, report_ccy: str, masked: bool = False) -> go.Figure:
    col = "unrealized_pnl_report" if "unrealized_pnl_report" in positions else "unrealized_pnl_base"
    df = positions.groupby("asset_class", as_index=False)[col].sum().sort_values(col)
    fig = go.Figure(go.Bar(x=df[col], y=df["asset_class"], orientation="h",
                           marker_color=[GREEN if v >= 0 else RED for v in df[col]],
                           text=None if masked else [_compact(v) for v in df[col]], textposition="auto",
                           cliponaxis=False, hovertemplate="%{y}<extra></extra>" if masked else
                           "%{y}: %{x:,.0f} " + report_ccy + "<extra></extra>"))
    fig.update_layout(title=f"Unrealised P&L by asset class ({report_ccy})", **LAYOUT, height=300)
    fig.update_xaxes(showticklabels=not masked, tickformat="~s", zeroline=True, zerolinecolor=GREY,
                     range=label_room(df[col]))
    return fig


BEFORE, AFTER = "#8b949e", "#58a6ff"
WHATIF_ROWS = (("equity", "Equity with loan"), ("initial", "Initial margin"), ("maintenance", "Maintenance margin"))


def whatif_bars(whatif: WhatIf, currency: str, masked: bool = False) -> go.Figure:
    """Equity with loan value, initial and maintenance margin before and after the order, side by side."""
    names = [label for _, label in WHATIF_ROWS]
    fig = go.Figure()
    for attr, name, color in (("current", "Before", BEFORE), ("after", "After", AFTER)):
        values = [getattr(getattr(whatif, key), attr) for key, _ in WHATIF_ROWS]
        fig.add_bar(y=names, x=values, name=name, orientation="h", marker_color=color,
                    hovertemplate=("%{y} " + name.lower() + ": %{x:,.0f} " + currency + "<extra></extra>")
                    if not masked else "%{y}<extra></extra>")
    fig.update_layout(**{**LAYOUT, "margin": dict(l=10, r=10, t=36, b=10)}, barmode="group", height=230,
                      title=dict(text=f"Before and after the order ({currency})", font=dict(size=14)),
                      legend=dict(orientation="h", y=-0.12), bargap=0.25)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(showticklabels=not masked, tickformat=",.0f", zeroline=True, zerolinecolor=GREY)
    return fig


def history_lines(history: pd.DataFrame, label=str, masked: bool = False) -> go.Figure:
    """Net liquidation (top) and daily P&L (bottom) of each account over time, one line each, from the rows of
    :meth:`ibkr.history.History.frame`; each account in its own base currency. ``label`` names an account (a
    masked id for viewers); ``masked`` hides the amounts."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Net liquidation", "Daily P&L"))
    for account, rows in history.groupby("account", sort=False):
        name = f"{label(account)} ({rows['base_currency'].iloc[-1] or '?'})"
        hover = "%{x|%d %b %H:%M}<extra>" + name + "</extra>" if masked else \
            "%{x|%d %b %H:%M}: %{y:,.0f}<extra>" + name + "</extra>"
        fig.add_trace(go.Scatter(x=rows["at"], y=rows["net_liquidation"], mode="lines+markers", name=name,
                                 legendgroup=name, hovertemplate=hover), row=1, col=1)
        fig.add_trace(go.Scatter(x=rows["at"], y=rows["daily_pnl"], mode="lines+markers", name=name,
                                 legendgroup=name, showlegend=False, hovertemplate=hover), row=2, col=1)
    fig.update_layout(title="Trend: today and recent days", **LAYOUT, height=460,
                      legend=dict(orientation="h", y=-0.12))
    fig.update_yaxes(showticklabels=not masked, tickformat="~s")
    fig.update_yaxes(zeroline=True, zerolinecolor=GREY, row=2, col=1)
    return fig
