"""Audit log (admins): every preview, submission, IBKR question and answer, response, cancel, modify, gateway action
and refusal, with who, when, the account and the order; filters and a CSV export. Read only: the app never
changes or deletes an entry."""

import datetime as dt

import pandas as pd
import streamlit as st

from ibkr.audit import Permission
from ibkr_desk import auth
from ibkr_desk.ui import services

st.title("Audit log")
why = auth.why_not(Permission.AUDIT)
if why:  # the page is not in a non-admin's navigation; a direct URL ends here too
    st.error(why, icon=":material/lock:")
    st.stop()

log = services.audit()
today = dt.date.today()
cols = st.columns([2, 2, 2, 3, 3])
user = cols[0].selectbox("Person", ["(everyone)", *log.distinct("user")], key="audit_user")
action = cols[1].selectbox("Action", ["(all)", *log.distinct("action")], key="audit_action")
account = cols[2].selectbox("Account", ["(all)", *log.distinct("account")], key="audit_account")
days = cols[3].date_input("Days", value=(today - dt.timedelta(days=6), today), max_value=today, key="audit_days")
text = cols[4].text_input("Search the order, outcome and detail", key="audit_text", placeholder="AAPL, o163, 1234")

start, end = (days if isinstance(days, tuple) and len(days) == 2 else (today, today))
local = dt.datetime.now().astimezone().tzinfo
rows = log.entries(user=None if user == "(everyone)" else user, action=None if action == "(all)" else action,
                   account=None if account == "(all)" else account,
                   since=dt.datetime.combine(start, dt.time.min, local),
                   until=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, local), text=text or None)
frame = pd.DataFrame(rows, columns=["id", "at", "user", "role", "action", "account", "flow_id", "order", "outcome",
                                    "detail"])
frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.tz_convert(local)
st.caption(f"{len(frame):,} entr{'y' if len(frame) == 1 else 'ies'} from {start:%Y-%m-%d} to {end:%Y-%m-%d}, newest "
           f"first (times in {dt.datetime.now().astimezone():%Z}); kept in {services.settings().database_file}.")
st.download_button("Download CSV", frame.to_csv(index=False).encode(), file_name=f"ibkr-desk-audit-{today}.csv",
                   mime="text/csv", icon=":material/download:", disabled=frame.empty)
st.dataframe(frame, hide_index=True, width="stretch", column_config={
    "id": st.column_config.NumberColumn("#", format="%d"),
    "at": st.column_config.DatetimeColumn("Time", format="YYYY-MM-DD HH:mm:ss.SSS"),
    "user": "Person", "role": "Role", "action": "Action", "account": "Account", "flow_id": "Submission",
    "order": st.column_config.TextColumn("Order", width="large"),
    "outcome": st.column_config.TextColumn("Outcome", width="large"),
    "detail": st.column_config.TextColumn("Detail (IBKR's questions and response)", width="large")})
