"""Streamlit glue for IBKR Desk: services, cached loaders, plotly figure builders, widgets and state keys."""

from streamlit.runtime.pages_manager import PagesManager

# app.py uses st.navigation, but Streamlit also knows the legacy "pages/ folder" mode and uses it in a new server
# process until app.py reaches st.navigation. A click during that first run (app.py still importing) would then run
# pages/<page>.py alone, without app.py. This package is the first thing app.py imports, before anything that can
# be interrupted by a rerun, so the legacy mode is switched off here.
PagesManager.uses_pages_directory = False
