"""Plotly builders of the Orders page: pure functions of the what-if preview, no Streamlit calls."""

from __future__ import annotations

import plotly.graph_objects as go

from ibkr.models import WhatIf
from ui.figures import GREY, LAYOUT

BEFORE, AFTER = "#8b949e", "#58a6ff"
ROWS = (("equity", "Equity with loan"), ("initial", "Initial margin"), ("maintenance", "Maintenance margin"))


def whatif_bars(whatif: WhatIf, currency: str, masked: bool = False) -> go.Figure:
    """Equity with loan value, initial and maintenance margin before and after the order, side by side."""
    names = [label for _, label in ROWS]
    fig = go.Figure()
    for attr, name, color in (("current", "Before", BEFORE), ("after", "After", AFTER)):
        values = [getattr(getattr(whatif, key), attr) for key, _ in ROWS]
        fig.add_bar(y=names, x=values, name=name, orientation="h", marker_color=color,
                    hovertemplate=("%{y} " + name.lower() + ": %{x:,.0f} " + currency + "<extra></extra>")
                    if not masked else "%{y}<extra></extra>")
    fig.update_layout(**{**LAYOUT, "margin": dict(l=10, r=10, t=36, b=10)}, barmode="group", height=230,
                      title=dict(text=f"Before and after the order ({currency})", font=dict(size=14)),
                      legend=dict(orientation="h", y=-0.12), bargap=0.25)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(showticklabels=not masked, tickformat=",.0f", zeroline=True, zerolinecolor=GREY)
    return fig
