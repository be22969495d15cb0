"""Plotly figure builders: pure functions of analytics frames, no Streamlit calls."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

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
        customdata=df[["exposure_native", "pct_of_net_liquidation"]].to_numpy(),
        hovertemplate=("%{y}: %{x:,.0f} " + report_ccy + "<br>native %{customdata[0]:,.0f}"
                       "<br>%{customdata[1]:.1%} of net liquidation<extra></extra>") if not masked else "%{y}<extra></extra>",
    ))
    fig.update_layout(title=f"Net FX exposure by currency ({report_ccy}; base currency excluded)", **LAYOUT,
                      height=max(260, 48 * len(df) + 90), showlegend=False)
    fig.update_xaxes(showticklabels=not masked, zeroline=True, zerolinecolor=GREY, tickformat=",.0f")
    return fig


def exposure_treemap(by_class: pd.DataFrame, report_ccy: str) -> go.Figure:
    """Currency -> asset class, sized by absolute exposure, coloured long (green) or short (red)."""
    df = by_class[by_class["abs_exposure_base"] > 0].copy()
    df["side"] = df["side"].fillna("long")
    fig = px.treemap(df, path=[px.Constant("All currencies"), "currency", "asset_class"], values="abs_exposure_base",
                     color="side", color_discrete_map={"long": GREEN, "short": RED, "(?)": GREY})
    fig.update_traces(hovertemplate="%{label}: %{value:,.0f} " + report_ccy + "<extra></extra>",
                      root_color="#161b22")
    fig.update_layout(title=f"Gross exposure: currency -> asset class ({report_ccy})", **LAYOUT, height=420)
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
                      annotation_position="top left")
    top = max(1.0, float(df[["utilisation_initial", "utilisation_maint"]].max().max() or 0) * 1.1)
    fig.update_layout(title="Margin utilisation (requirement / equity with loan value)", barmode="group", **LAYOUT,
                      height=360, legend=dict(orientation="h", y=-0.15))
    fig.update_yaxes(tickformat=".0%", range=[0, top])
    return fig


def pnl_by_asset_class(positions: pd.DataFrame, report_ccy: str) -> go.Figure:
    col = "unrealized_pnl_report" if "unrealized_pnl_report" in positions else "unrealized_pnl_base"
    df = positions.groupby("asset_class", as_index=False)[col].sum().sort_values(col)
    fig = go.Figure(go.Bar(x=df[col], y=df["asset_class"], orientation="h",
                           marker_color=[GREEN if v >= 0 else RED for v in df[col]],
                           hovertemplate="%{y}: %{x:,.0f} " + report_ccy + "<extra></extra>"))
    fig.update_layout(title=f"Unrealised P&L by asset class ({report_ccy})", **LAYOUT, height=300)
    return fig
