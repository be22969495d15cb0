"""IBKR Desk's dashboard (Streamlit): every position with P&L, margin, currency exposure, an order ticket and the
gateway's state, over the ``ibkr`` library.

    python -m ibkr_desk                 # serves http://127.0.0.1:8501 against the simulated gateway (the default)

- ``app.py``: the entry point Streamlit runs (``st.navigation`` over ``app_pages/``, the sidebar, the boot).
- ``app_pages/``: one thin script per page.
- :mod:`ibkr_desk.ui`: services, cached loaders, widgets, figures, state keys; :mod:`ibkr_desk.ui.orders` the
  Orders page's widgets.
"""
