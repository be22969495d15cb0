"""Notifications: the gateway needs a person, margin utilisation crossed a threshold, an order filled or was
rejected. Each goes to a Slack-compatible webhook (``{"text": ...}``, ``settings.notify_webhook_url``) from a
background thread, and every one is recorded in the desk's database (:mod:`ibkr.db`, table ``notifications``) with
what became of it: ``sent``, ``failed`` (with the error), ``held`` (over ``settings.notify_per_hour``) or
``unsent`` (no webhook configured). The dashboard's open pages show them as toasts from that table.

Each event has a dedupe key and is notified once, also across restarts (the key is unique in the table). The text
names no account id and no amount unless ``settings.notify_details``. No Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from ibkr.analytics.definitions import DEFAULT_DANGER, DEFAULT_WARNING
from ibkr.audit import REJECTED_OUTCOME
from ibkr.db import Database
from ibkr.gateway import Prompt, PromptKind

log = logging.getLogger(__name__)

DDL = """
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,            -- when the event was seen, ISO 8601 UTC
    key TEXT NOT NULL UNIQUE,    -- the event's dedupe key: each event is notified once
    kind TEXT NOT NULL,          -- gateway | margin | order
    text TEXT NOT NULL,          -- what was (or would have been) sent
    status TEXT NOT NULL,        -- sent | failed | held | unsent
    error TEXT                   -- why it failed or was held back
);
"""

SENT, FAILED, HELD, UNSENT = "sent", "failed", "held", "unsent"

PROMPT_TEXT = {
    PromptKind.LOGIN_REQUIRED: "The IBKR gateway needs a login (username, password, two-factor step).",
    PromptKind.SESSION_EXPIRED: "The IBKR session ended: someone must log in again.",
    PromptKind.TWO_FACTOR_PENDING: "The IBKR gateway waits for the two-factor step (approve it in IBKR Mobile, "
                                   "then Reauthenticate).",
    PromptKind.COMPETING_SESSION: "Another IBKR platform holds the brokerage session: take it over or log out "
                                  "of the other platform.",
    PromptKind.GATEWAY_DOWN: "The IBKR gateway is down and needs a person.",
}
LOGIN_KINDS = {PromptKind.LOGIN_REQUIRED, PromptKind.SESSION_EXPIRED}
LEVELS = ("ok", "warning", "danger")
FILLED, REJECTED = "filled", "rejected"


@dataclass(frozen=True)
class Notification:
    id: int
    at: dt.datetime
    key: str
    kind: str
    text: str
    status: str
    error: str | None


class Notifier:
    """Events in (:meth:`notify` and the helpers for prompts, snapshots and order books), one background thread
    out. ``post(url, payload)`` is the webhook call (requests by default); ``clock`` is epoch seconds."""

    def __init__(self, path: Path | None, webhook_url: str | None = None, *, per_hour: int = 30,
                 details: bool = False, warning: float = DEFAULT_WARNING, danger: float = DEFAULT_DANGER,
                 timeout: float = 10.0, clock: Callable[[], float] = time.time,
                 post: Callable[[str, dict], None] | None = None) -> None:
        self.db = Database.at(path)
        self.db.declare("notifications", DDL)
        self.webhook_url, self.per_hour, self.details = webhook_url, per_hour, details
        self.warning, self.danger = warning, danger
        self.timeout, self._clock = timeout, clock
        self._post = post or self._http_post
        self._lock = threading.Lock()
        self._keys = {r["key"] for r in self.db.read("SELECT key FROM notifications")}
        self._attempts: deque[float] = deque()  # clock times of the webhook calls of the last hour
        self._margin_level: dict[str, int] = {}
        self._gateway_open: dict[str, str] = {}  # prompt group -> the key of its event while it is pending
        self._watched = None
        self._orders_seen: dict[str, dict[int, str | None]] = {}  # account -> order id -> terminal state seen
        self._watching_since_ms = time.time() * 1000  # an order that ended after this is news, even in a first read
        self._queue: queue.Queue = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    # ---- events in ----------------------------------------------------------------------------------------------
    def notify(self, kind: str, key: str, text: str) -> bool:
        """Queue one event for delivery unless ``key`` was notified before; True when queued."""
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            self._idle.clear()
            self._queue.put((dt.datetime.now(dt.UTC), kind, key, text))
        return True

    def watch(self, manager) -> Notifier:
        """Notify ``manager``'s prompts (:meth:`gateway_prompt`), and re-arm them once it needs no one."""
        self._watched = manager
        manager.on_prompt(self.gateway_prompt)
        return self

    def gateway_prompt(self, prompt: Prompt) -> bool:
        """``GatewayManager.on_prompt``: the gateway needs a person. One event per need: a lost session is
        reported by the manager as "expired" and then "login required", a replay to another listener repeats
        the pending prompt; each is notified once, until the gateway needs no one again (see :meth:`watch`)."""
        text = PROMPT_TEXT.get(prompt.kind, "The IBKR gateway needs a person.")
        if prompt.kind is PromptKind.GATEWAY_DOWN and not prompt.actions:
            return False  # being restarted by itself, or not ours: nothing for a person yet
        if prompt.kind is PromptKind.GATEWAY_DOWN:
            text = "The IBKR gateway is down and was not restarted automatically: someone must look at it."
        if self.details:
            text = f"{text} {prompt.message}"
        group = "login" if prompt.kind in LOGIN_KINDS else prompt.kind.value
        with self._lock:
            key = self._gateway_open.setdefault(group, f"gateway:{group}:{prompt.at.isoformat()}")
        return self.notify("gateway", key, text)

    def gateway_ok(self) -> None:
        """The gateway needs no one any more: the next prompt is news again."""
        with self._lock:
            self._gateway_open.clear()

    def margin(self, utilisation: Mapping[str, float | None], at: dt.datetime | None = None) -> list[str]:
        """Maintenance margin utilisation per account (as the Margin page computes it): an event when an account
        crosses the warning or the danger threshold upwards; it is re-armed once it falls back below. NaN (not
        read) changes nothing. The keys of the events queued."""
        at = at or dt.datetime.now(dt.UTC)
        queued: list[str] = []
        for account, value in utilisation.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            level = self._level(value)
            before = self._margin_level.get(account, 0)
            self._margin_level[account] = level
            if level <= before:
                continue
            threshold = self.danger if level == 2 else self.warning
            if not self.details:
                text = (f"An account's maintenance margin utilisation crossed the {LEVELS[level]} threshold "
                        f"({threshold:.0%}).")
            else:
                now = f"is {value:.1%}" if math.isfinite(value) else "is over 100% (excess liquidity below zero)"
                text = (f"Account {account}: maintenance margin utilisation {now}, over the {LEVELS[level]} "
                        f"threshold ({threshold:.0%}).")
            key = f"margin:{account}:{LEVELS[level]}:{at.isoformat()}"
            if self.notify("margin", key, text):
                queued.append(key)
        return queued

    def resume_margin(self, utilisation: Mapping[str, float]) -> None:
        """Start the margin watch from earlier readings (the history's newest per account, after a restart):
        an account still at the level it was at is no news; one that rose past a threshold since is."""
        for account, value in utilisation.items():
            if value is not None and not math.isnan(value) and account not in self._margin_level:
                self._margin_level[account] = self._level(value)

    def _level(self, value: float) -> int:
        return 2 if value >= self.danger else 1 if value >= self.warning else 0

    def snapshot(self, snap) -> list[str]:
        """A portfolio snapshot (``Refresher`` ``on_result``): the margin check of each account read in it."""
        from ibkr import analytics

        summaries = dict(snap.summaries)
        if not summaries:
            return []
        table = analytics.margin_table(summaries, snap.ledgers, snap.base_currency, warning=self.warning,
                                       danger=self.danger)
        rows = table[table["account"] != analytics.TOTAL_LABEL]
        # negative excess liquidity is danger whatever the ratio says (the Margin page's status)
        util = {r.account: (math.inf if r.excess_liquidity < 0 else r.utilisation_maint) for r in rows.itertuples()}
        return self.margin(util, snap.as_of)

    def orders(self, book: Mapping[str, Any]) -> list[str]:
        """A live-orders book (``BookReader`` ``on_result``: account -> ``AccountRead`` of orders): an event when
        an order is filled or rejected. The first read of an account is the baseline: what ended in it before
        this notifier was made is not news, what ended since (IBKR's ``lastExecutionTime_r``) is: an order that
        filled in the seconds between the dashboard's start and its first read of the account."""
        queued: list[str] = []
        for account, read in book.items():
            if getattr(read, "as_of", None) is None:
                continue
            first = account not in self._orders_seen
            seen = self._orders_seen.setdefault(account, {})
            for order in read.items:
                state = order_outcome(order.status)
                was = seen.get(order.order_id)
                seen[order.order_id] = state
                if state is None or was == state:
                    continue
                if first and not (order.last_execution_time_r or 0) >= self._watching_since_ms:
                    continue
                what = (order.ticker or order.description1 or "an instrument") if self.details else None
                side = (order.side or "").upper()
                if self.details:
                    size = order.filled_quantity if state == FILLED else order.total_size
                    price = f" at {order.avg_price:g}" if state == FILLED and order.avg_price else ""
                    text = (f"Order {order.order_id} of account {account}: {side} {size:g} {what}{price} "
                            f"{state}.") if size is not None else f"Order {order.order_id} of {account}: {state}."
                else:
                    text = f"An order was {state}." if not side else \
                        f"A {'buy' if side.startswith('B') else 'sell'} order was {state}."
                key = f"order:{account}:{order.order_id}:{state}"
                if self.notify("order", key, text):
                    queued.append(key)
        return queued

    def audited(self, entry: Mapping[str, Any]) -> bool:
        """An audit entry (``AuditLog.on_record``): IBKR's refusal of an order request (a placement, a modify or
        an answer to its question) is an order rejected, notified once per request. The live-orders reader
        never sees an order IBKR refused at placement: it has no order id."""
        outcome = str(entry.get("outcome") or "")
        if entry.get("action") != "response" or not outcome.startswith(f"{REJECTED_OUTCOME}:"):
            return False
        if self.details:
            said = outcome.split(":", 1)[1].strip()
            text = f"IBKR rejected {entry.get('order')} for account {entry.get('account')}: {said}"
        else:
            text = "IBKR rejected an order request."
        return self.notify("order", f"audit:{entry.get('id')}:rejected", text)

    # ---- what was notified --------------------------------------------------------------------------------------
    def recent(self, after_id: int = 0, since: dt.datetime | None = None, limit: int = 50) -> list[Notification]:
        """The notifications recorded after ``after_id`` (and at or after ``since``), oldest first."""
        since_iso = since.astimezone(dt.UTC).isoformat() if since else ""
        rows = self.db.read("SELECT * FROM notifications WHERE id > ? AND at >= ? ORDER BY id LIMIT ?",
                            (after_id, since_iso, limit))
        return [Notification(r["id"], dt.datetime.fromisoformat(r["at"]), r["key"], r["kind"], r["text"],
                             r["status"], r["error"]) for r in rows]

    def last_id(self) -> int:
        return int(self.db.read("SELECT COALESCE(MAX(id), 0) AS n FROM notifications")[0]["n"])

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event was delivered (or held back) and recorded; False on timeout."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    # ---- the thread ---------------------------------------------------------------------------------------------
    def _http_post(self, url: str, payload: dict) -> None:
        with requests.Session() as http:
            http.trust_env = False  # a webhook on this machine is not sent through a proxy
            answer = http.post(url, json=payload, timeout=self.timeout)
            if answer.status_code >= 300:
                raise RuntimeError(f"the webhook answered HTTP {answer.status_code}: {answer.text[:200]}")

    def _allowed(self) -> bool:
        now = self._clock()
        while self._attempts and now - self._attempts[0] >= 3600:
            self._attempts.popleft()
        if len(self._attempts) >= self.per_hour:
            return False
        self._attempts.append(now)
        return True

    def _deliver(self, kind: str, text: str) -> tuple[str, str | None]:
        if not self.webhook_url:
            return UNSENT, "no webhook configured (IBKR_NOTIFY_WEBHOOK_URL)"
        if not self._allowed():
            return HELD, f"over the limit of {self.per_hour} notifications an hour (IBKR_NOTIFY_PER_HOUR)"
        try:
            self._post(self.webhook_url, {"text": text})
        except Exception as exc:  # noqa: BLE001 - a webhook that fails is recorded, never fatal
            log.warning("notification webhook failed: %s", exc)
            return FAILED, f"{type(exc).__name__}: {exc}"[:500]
        return SENT, None

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=1.0)
            except queue.Empty:
                watched = self._watched
                if watched is not None and watched.prompt is None:
                    self.gateway_ok()
                continue
            if item is None:
                return
            at, kind, key, text = item
            status, error = self._deliver(kind, text)
            try:
                self.db.write("INSERT OR IGNORE INTO notifications (at, key, kind, text, status, error) "
                              "VALUES (?, ?, ?, ?, ?, ?)", (at.isoformat(), key, kind, text, status, error))
            except Exception:  # noqa: BLE001 - the thread must live on
                log.exception("a notification could not be recorded")
            if self._queue.empty():
                with self._lock:
                    if self._queue.empty():
                        self._idle.set()


def order_outcome(status: str | None) -> str | None:
    """IBKR's order status -> ``filled`` / ``rejected`` / None (still working, cancelled, ...)."""
    s = (status or "").strip().lower()
    if s == "filled":
        return FILLED
    if s in {"rejected", "inactive"}:
        return REJECTED
    return None


def keys(notifications: Iterable[Notification]) -> list[str]:
    return [n.key for n in notifications]
