"""What every page shows: the sidebar (accounts, gateway chip, freshness, refresh, privacy) and the gateway prompt."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ibkr.gateway import AuthState, PromptAction
from ibkr.pacing import default_limiter
from ibkr_desk import auth
from ibkr_desk.ui import fmt, gateway_actions, live, loaders, services, state

# The gateway status chip: Streamlit's own badge and icon font, so it draws without an emoji font.
CHIP = {
    AuthState.AUTHENTICATED: ":green-badge[:material/check_circle: Connected]",
    AuthState.COMPETING: ":orange-badge[:material/swap_horiz: Competing session]",
    AuthState.NOT_CONNECTED: ":orange-badge[:material/link_off: Not connected]",
    AuthState.NO_SESSION: ":red-badge[:material/lock: Login needed]",
    AuthState.STARTING: ":gray-badge[:material/hourglass_top: Starting]",
    AuthState.NOT_RUNNING: ":red-badge[:material/power_off: Gateway down]",
}
DEGRADED = ":orange-badge[:material/warning: Degraded]"


def is_paper(account_ids: list[str], sso: dict) -> bool | None:
    """Whether this session trades a paper account: IBKR's SSO validation says so (``LOGIN_TYPE`` 2), else the
    account ids do (IBKR's paper accounts start with D: DU..., DF...). None when there is nothing to go by."""
    if sso.get("paper") is not None:
        return bool(sso["paper"])
    return all(a.upper().startswith("D") for a in account_ids) if account_ids else None


def trading_banner(loaded: loaders.Loaded) -> None:
    """With trading on, every page says whether orders go to a PAPER or a LIVE account."""
    if not services.settings().trading_enabled:
        return
    ids = loaded.snapshot.account_ids if loaded.snapshot else []
    paper = is_paper(ids, services.gateway().record.sso)
    if paper:
        st.info("**PAPER trading**: orders from this dashboard go to IBKR's paper account "
                f"({', '.join(fmt.account(a, auth.masks_accounts()) for a in ids)}); no real money moves.",
                icon=":material/science:")
    elif paper is False:
        st.error("**LIVE trading**: orders from this dashboard are real and go to IBKR at once.",
                 icon=":material/bolt:")
    else:
        st.warning("**Trading is on** (IBKR_TRADING_ENABLED=true); whether the account is paper or live is not known "
                   "yet.", icon=":material/bolt:")


def sidebar(loaded: loaders.Loaded) -> list[str]:
    """Render the sidebar; return the account ids the pages should show."""
    manager = services.gateway()
    chip = CHIP.get(manager.state, f":gray-badge[{manager.state.value}]")
    if manager.state == AuthState.AUTHENTICATED and loaded.error and not loaded.waiting:
        chip = DEGRADED  # logged in, but the gateway's answers fail: "Connected" would be a lie
    mode = services.settings().gateway_mode.value
    st.sidebar.markdown(f"**Gateway** {chip}  \n<small>{mode} · {fmt.escape(services.settings().gateway_url)}</small>",
                        unsafe_allow_html=True)
    ids = loaded.snapshot.account_ids if loaded.snapshot else []
    options = [state.ALL_ACCOUNTS, *ids]
    st.sidebar.selectbox("Account", options, key=state.ACCOUNT,
                         format_func=lambda a: a if a == state.ALL_ACCOUNTS else _account_label(loaded, a))
    chosen = st.session_state.get(state.ACCOUNT, state.ALL_ACCOUNTS)
    if loaded.snapshot:
        bases = sorted({c for c in loaded.snapshot.base_currency.values()})
        default = loaded.snapshot.base_currency.get(ids[0], bases[0]) if ids else "USD"
        if chosen != state.ALL_ACCOUNTS:
            default = loaded.snapshot.base_currency.get(chosen, default)
        st.sidebar.selectbox("Report currency", bases, index=bases.index(default) if default in bases else 0,
                             key=state.REPORT_CCY, help="Consolidated figures are converted with the ledgers' rates")
    st.sidebar.toggle("Privacy (mask amounts)", key=state.PRIVACY, help="Hides amounts for screen sharing")
    with st.sidebar:
        _freshness(loaded)
        _watch_gateway(_gateway_view(manager))
    st.sidebar.button("Refresh now", icon=":material/refresh:", width="stretch", on_click=loaders.refresh,
                      help="Asks the background refresher for a new read; the page redraws when it arrives.")
    return ids if chosen == state.ALL_ACCOUNTS else [chosen]


def _account_label(loaded: loaders.Loaded, account_id: str) -> str:
    for a in loaded.snapshot.accounts if loaded.snapshot else []:
        if a.account_id == account_id:
            shown = fmt.account(account_id, auth.masks_accounts())
            return f"{shown} · {a.currency} · {a.display_name or ''}".rstrip(" ·") if shown == account_id else (
                f"{shown} · {a.currency}")  # masked: the account's name would give it away
    return fmt.account(account_id, auth.masks_accounts())


def _freshness(loaded: loaders.Loaded) -> None:
    """The freshness badge, redrawn on its own every ``loaders.poll_seconds()``."""
    st.fragment(run_every=loaders.poll_seconds())(_freshness_body)(loaded)


def _freshness_body(loaded: loaders.Loaded) -> None:
    """The as-of time (a stale badge once it is two intervals old); redraws the page when newer data is loaded.
    Called inside ``with st.sidebar``: a fragment redraws only its own body. The Live / Delayed indicator is
    here too: when the stream goes live or down the page is redrawn (its live parts start or stop)."""
    live.indicator()
    snap = loaded.snapshot
    if snap is None:
        st.caption("No data yet")
    else:
        stamp = fmt.stamp(snap.as_of)
        if loaded.stale or loaders.age_seconds(snap) > 2 * loaders.refresh_seconds():
            st.warning(f"Stale: data as of {stamp}", icon=":material/schedule:")
        else:
            st.caption(f"As of {stamp} · refreshes every {loaders.refresh_seconds():.0f} s")
    if loaded.loading:
        st.caption(":material/progress_activity: Reading the portfolio from the gateway...")
    paused = default_limiter().paused_for()
    if paused > 0:  # redrawn every poll: the countdown counts
        st.caption(f":material/timer: IBKR is pacing this machine: requests resume in {paused:.0f} s "
                   "(nothing is re-sent meanwhile).")
    if _on_its_timer() and loaders.poll(loaded):
        st.rerun(scope="app")


def _on_its_timer() -> bool:
    """True when a fragment runs on its own ``run_every`` timer rather than inline in a full run of the page (a
    full run that asked for another full run would loop)."""
    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def _gateway_view(manager) -> tuple[AuthState, str | None]:
    """What the page shows of the gateway: its state and its prompt (the keeper sets the state, then emits the
    prompt a moment later: a page drawn between the two showed "Connecting..." until the next state change)."""
    prompt = manager.prompt
    return manager.state, prompt.message if prompt is not None else None


@st.fragment(run_every=2)
def _watch_gateway(rendered: tuple[AuthState, str | None]) -> None:
    """Redraw the page as soon as the gateway's state or prompt changes (a login completed, a session dropped)."""
    if _on_its_timer() and _gateway_view(services.gateway()) != rendered:
        st.rerun(scope="app")


def gateway_prompt() -> None:
    """When the gateway needs a person, say what to do, with the actions it offers. Never a traceback."""
    manager = services.gateway()
    prompt = manager.prompt
    if manager.state == AuthState.AUTHENTICATED or prompt is None:
        gateway_actions.last_outcome("prompt")
        if manager.state not in (AuthState.AUTHENTICATED,):
            st.info("Connecting to the gateway...", icon=":material/hourglass_top:")
        return
    with st.container(border=True):
        st.warning(prompt.message, icon=":material/lock:")
        if PromptAction.LOG_IN in prompt.actions and prompt.login_url:
            st.link_button("Open the gateway login page", prompt.login_url, type="primary")
        gateway_actions.buttons(list(prompt.actions), "prompt")


def data_or_stop(loaded: loaders.Loaded):
    """The snapshot to draw, or a clear message (and stop) when there is none yet. While the gateway is not ready
    the prompt above says what to do, so no error is added here."""
    if loaded.error and loaded.snapshot is not None:
        stamp = fmt.stamp(loaded.snapshot.as_of)
        st.warning(f"Showing the last good data (as of {stamp}): {loaded.error}", icon=":material/history:")
    if loaded.snapshot is None:
        if loaded.error and not loaded.waiting:
            st.error(f"Could not load the portfolio: {loaded.error} Use 'Refresh now' to try again.",
                     icon=":material/cloud_off:")
        elif not loaded.waiting:
            st.info("Reading positions and balances from the gateway; the page fills in when they arrive.",
                    icon=":material/hourglass_top:")
        st.stop()
    if loaded.read_only:
        st.info(loaded.read_only, icon=":material/visibility:")
    for warning in loaded.snapshot.warnings:
        st.caption(f":material/info: {warning}")
    return loaded.snapshot
