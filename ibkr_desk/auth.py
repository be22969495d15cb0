"""Who is using the dashboard: Streamlit's own OIDC sign-in (``st.login``, ``st.user``) when an ``[auth]`` section
is configured in ``.streamlit/secrets.toml``, else a single-user local tool whose user is the OS user.

Signed in, a person's role comes from ``IBKR_ROLE_CLAIM`` or the ``IBKR_ADMINS`` / ``IBKR_TRADERS`` lists
(:func:`ibkr.audit.role_for`); everyone else is a viewer. The role is checked again where each action happens
(``ibkr.orders.submission``, ``ibkr.gateway.perform``); the pages only say why a button is off.
"""

from __future__ import annotations

import streamlit as st

from ibkr.audit import Actor, Permission, Role, local_actor, role_for
from ibkr_desk import hosting
from ibkr_desk.ui import services
from ibkr_desk.ui.fmt import escape

ROLE_TEXT = {
    Role.VIEWER: "reads the dashboard; cannot send orders or run gateway actions",
    Role.TRADER: "reads and sends orders (when trading is on)",
    Role.ADMIN: "sends orders, runs gateway actions and reads the audit log",
}


def _auth_section() -> dict | None:
    """The ``[auth]`` section of Streamlit's secrets, or None when there is none (or no secrets file at all)."""
    try:
        return st.secrets.to_dict().get("auth") if "auth" in st.secrets else None
    except Exception:  # no secrets file at all, or one Streamlit cannot parse: no sign-in
        return None


def signin_configured() -> bool:
    """True when Streamlit's OIDC sign-in is configured completely (``ibkr_desk.hosting.signin_problem``, the rule
    the start-up check applies too)."""
    auth = _auth_section()
    return auth is not None and hosting.signin_problem(auth) is None


def actor() -> Actor:
    """The person of this session (call :func:`gate` first on every run)."""
    if not signin_configured():
        return local_actor()
    user = st.user
    if not user.get("is_logged_in"):
        return Actor("(not signed in)", Role.VIEWER)
    email = str(user.get("email") or user.get("sub") or "unknown")
    settings = services.settings()
    role = role_for(email, user.to_dict(), admins=settings.admins, traders=settings.traders,
                    claim=settings.role_claim)
    return Actor(email, role)


def masks_accounts() -> bool:
    """Whether this session's person sees account ids masked (IBKR_MASK_ACCOUNTS, for viewers)."""
    return services.settings().mask_accounts and actor().role is Role.VIEWER


def may(permission: Permission) -> bool:
    return actor().may(permission)


def why_not(permission: Permission) -> str | None:
    """Why this session's person may not do it (None: they may), for a disabled button's help."""
    person = actor()
    if person.may(permission):
        return None
    wanted = "an admin (IBKR_ADMINS)" if permission is not Permission.TRADE else "a trader (IBKR_TRADERS) or admin"
    return (f"You are signed in as {person.user}, a {person.role.value}: only {wanted} may do this. An admin "
            "can add you to the list and restart the dashboard.")


def gate() -> Actor:
    """Every page's first step: with sign-in configured, a person who has not signed in sees only the sign-in
    screen (the page stops here); the sidebar says who is signed in and offers sign-out."""
    auth = _auth_section()
    if auth is not None and (problem := hosting.signin_problem(auth)):
        # An operator meant to share the dashboard: fail closed rather than give every visitor the admin's rights.
        st.error(f"Sign-in is configured incompletely, so the dashboard shows nothing: {problem}. Complete it "
                 "(README, \"Running it for a team\") or remove [auth] for a single-user local dashboard, then "
                 "restart.", icon=":material/lock:")
        st.stop()
    if auth is None:
        st.sidebar.caption(":material/person: Single-user local dashboard: no sign-in is configured, so whoever "
                           "opens it has every right. To share it with a team, configure sign-in (README, "
                           "\"Running it for a team\").")
        return local_actor()
    if not st.user.get("is_logged_in"):
        _signin_screen()
        st.stop()
    person = actor()
    with st.sidebar:
        st.markdown(f":material/person: **{escape(person.user)}**  \n<small>{person.role.value}: "
                    f"{ROLE_TEXT[person.role]}</small>", unsafe_allow_html=True)
        st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="sign_out", width="stretch")
    return person


def _signin_screen() -> None:
    st.title("IBKR Desk")
    st.info("This dashboard is shared by a team: sign in to see it. What you may do (read, trade, run the "
            "gateway) depends on the role an admin gave you.", icon=":material/lock:")
    st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login, key="sign_in")
