"""IBKR Desk: the dashboard's pages, which ``python -m ibkr_desk`` serves through ``ibkr_desk/serve.py`` (its
address and Host checks in front). Run directly by ``streamlit run ibkr_desk/app.py``, it shows only how to start
it properly (:func:`ibkr_desk.hosting.unguarded`)."""

import streamlit as st
from streamlit import runtime

from ibkr.audit import Permission
from ibkr_desk import auth, hosting
from ibkr_desk.ui import page

st.set_page_config(page_title="IBKR Desk", page_icon="📈", layout="wide", initial_sidebar_state="expanded")
st.sidebar.title("IBKR Desk")
if why := hosting.unguarded(runtime.get_instance()):
    st.error(why, icon=":material/gpp_bad:")
    st.stop()
person = auth.gate()  # with sign-in configured, nothing below runs for someone who has not signed in

navigation = st.navigation([
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("app_pages/positions.py", title="Positions", icon=":material/list_alt:"),
    st.Page("app_pages/margin.py", title="Margin", icon=":material/balance:"),
    st.Page("app_pages/currency.py", title="Currency exposure", icon=":material/currency_exchange:"),
    st.Page("app_pages/orders.py", title="Orders", icon=":material/receipt_long:"),
    st.Page("app_pages/gateway.py", title="Gateway", icon=":material/power:"),
    *([st.Page("app_pages/audit.py", title="Audit log", icon=":material/history_edu:")]
      if person.may(Permission.AUDIT) else []),
])
# Streamlit's wide layout keeps 5rem either side: at 1280 px that hid the P&L columns. A trading screen uses it.
st.html("<style>[data-testid='stMainBlockContainer'] {padding: 2.5rem 1.75rem 3rem 1.75rem;}</style>")
page.boot()
navigation.run()
