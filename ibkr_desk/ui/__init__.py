"""Streamlit glue for IBKR Desk: services, cached loaders, plotly figure builders, widgets and state keys.

The page scripts are in ``app_pages/`` (a folder Streamlit does not auto-discover; ``app.py`` lists them with
``st.navigation``); the Orders page's widgets in :mod:`ui.orders`.
"""
