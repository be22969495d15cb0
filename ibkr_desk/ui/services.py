"""The process-wide services, booted once with ``st.cache_resource``: settings, gateway manager, API client."""

from __future__ import annotations

import threading
from collections import deque

import streamlit as st

from ibkr import ClientPortalClient, Settings
from ibkr.gateway import AuthState, GatewayManager, Prompt
from ibkr.orders.submission import Submissions
from ibkr.portfolio import PortfolioSnapshot, load_portfolio
from ibkr.refresher import Refresher
from ibkr.state import default_state_dir


@st.cache_resource
def settings() -> Settings:
    return Settings()


class PromptInbox:
    """Prompts from the manager's thread, kept for the pages (the thread never calls ``st.*``)."""

    def __init__(self, size: int = 20) -> None:
        self._items: deque[Prompt] = deque(maxlen=size)
        self._lock = threading.Lock()

    def push(self, prompt: Prompt) -> None:
        with self._lock:
            self._items.append(prompt)

    def recent(self) -> list[Prompt]:
        with self._lock:
            return list(self._items)


@st.cache_resource
def prompt_inbox() -> PromptInbox:
    return PromptInbox()


@st.cache_resource
def gateway() -> GatewayManager:
    """The one gateway manager of this process: opening the page starts the gateway and its keep-alive."""
    manager = GatewayManager(settings())
    manager.on_prompt(prompt_inbox().push)
    manager.start()
    return manager


@st.cache_resource
def submissions() -> Submissions:
    """Every order submission of this process: a reload or a second tab sees the ones still open, and a restart
    the ones that were open when the process stopped (kept in ``<state dir>/submissions.json``)."""
    return Submissions(path=default_state_dir() / "submissions.json", key=settings().gateway_url)


@st.cache_resource
def client() -> ClientPortalClient:
    return ClientPortalClient(settings())


@st.cache_resource
def refresher() -> Refresher[PortfolioSnapshot]:
    """The one portfolio reader of this process: every viewer shows what it loaded last (see ``ui.loaders``)."""
    manager, api = gateway(), client()
    return Refresher(lambda: load_portfolio(api), settings().refresh_seconds, name="portfolio-refresher",
                     ready=lambda: manager.state == AuthState.AUTHENTICATED).start()
