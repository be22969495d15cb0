"""Streamlit glue for IBKR Desk: services, cached loaders, plotly figure builders, widgets and state keys."""
