"""A submission from the click to IBKR's final answer: a new order, a modify or a cancel, with IBKR's questions.

One click sends one order. A submission is an :class:`OrderFlow` stored under a key *before* the request is
sent (:func:`begin`); while it exists the form shows it instead of its Submit button, so a double click, a
rerun or a second click on a question's button finds the flow and sends nothing. The result is written onto
the flow object as soon as the client returns (:func:`run`), so a form interrupted meanwhile still finds it.

The functions take a mapping (``st.session_state`` on the dashboard, a dict in tests) and a client that
speaks :class:`OrderClient` (``ClientPortalClient`` does). The wire side is ``ibkr.endpoints.trading``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from ibkr.audit import REJECTED_OUTCOME, Actor, AuditLog, Permission, local_actor, require
from ibkr.errors import (
    AccessDenied,
    AuditUnavailable,
    GatewayUnavailable,
    IbkrError,
    NotAuthenticated,
    OrderRejected,
    OrderStatusUnknown,
    OrderValidationError,
    RateLimited,
    UnknownAccount,
)
from ibkr.models import Order, OrderAccepted, OrderDeclined, OrderStatus, PendingConfirmation
from ibkr.state import read_json, write_json

log = logging.getLogger(__name__)


class OrderClient(Protocol):
    """What a submission needs of the client (``ClientPortalClient`` has it)."""

    def confirm(self, pending: PendingConfirmation, *,
                option: str | None = None) -> OrderAccepted | PendingConfirmation: ...
    def reject(self, pending: PendingConfirmation) -> OrderDeclined: ...
    def order_status(self, order_id: int | str) -> OrderStatus: ...
    def find_live_order(self, account_id: str | None, coid: str) -> Order | None: ...


NOT_SENT_ERRORS = (OrderValidationError, UnknownAccount, NotAuthenticated, AccessDenied, RateLimited)


class Stage(StrEnum):
    SENDING = "sending"
    QUESTIONS = "questions"
    PLACED = "placed"
    DECLINED = "declined"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    NOT_SENT = "not sent"
    ACKNOWLEDGED = "acknowledged"  # a cancel request IBKR took


@dataclass
class OrderFlow:
    """One submission (a new order, a modify or a cancel) from the click to its final answer."""

    kind: str  # "new", "modify", "cancel"
    title: str  # "BUY 10 AAPL LMT limit 228.5 DAY"
    account_id: str
    ticket_fingerprint: str | None = None
    flow_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    stage: Stage = Stage.SENDING
    pending: PendingConfirmation | None = None
    answering: str | None = None  # the reply id whose answer is on its way
    answered: list[tuple[list[str], bool]] = field(default_factory=list)  # (message ids, yes?) per round
    accepted: OrderAccepted | None = None
    status: OrderStatus | None = None
    message: str | None = None
    coid: str | None = None
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())
    dismissed: bool = False  # closed by the trader ("New order" / "Close")
    actor: Actor | None = None  # who submitted it (None: restored from disk, or a library caller)
    audit: AuditLog | None = field(default=None, repr=False, compare=False)  # where its steps are recorded

    @property
    def active(self) -> bool:
        """Sending or waiting for the trader's answers: nothing else may be sent from this ticket."""
        return self.stage in (Stage.SENDING, Stage.QUESTIONS)

    @property
    def order_id(self) -> str | None:
        return self.accepted.order_id if self.accepted else None


OPEN_STAGES = (Stage.SENDING, Stage.QUESTIONS, Stage.UNKNOWN)
"""A submission in these stages may still become an order at IBKR: the same ticket must not be sent again."""


class Submissions:
    """Every submission of this process, shared by all its viewers (one ``st.cache_resource`` on the dashboard).

    A reload, a second tab or a crashed browser starts a new session whose ``st.session_state`` knows nothing
    of a submission still on its way; this register does. :meth:`begin` refuses a ticket whose exact twin (same
    fingerprint) is still open, and :meth:`undismissed` lets a new session show what was sent. The flow objects
    are the ones the sending thread writes IBKR's answer onto, so every viewer sees the same outcome.

    With a ``path``, the new orders still open (each with the cOID it is sent under) are kept on disk from before
    the request leaves until IBKR settles them, so a dashboard restarted meanwhile shows them as "outcome
    unknown, look for this cOID" instead of an empty ticket that invites sending the order again.
    """

    def __init__(self, keep: int = 100, path: Path | None = None, key: str = "",
                 audit: AuditLog | None = None) -> None:
        self._flows: dict[str, OrderFlow] = {}
        self._keep = keep
        self._lock = threading.Lock()
        self._path, self._key = path, key  # key: the gateway's origin (one file serves several gateways)
        self.audit = audit
        if path is not None:
            for flow in _restored(read_json(path).get(key, {})):
                flow.audit = audit
                self._flows[flow.flow_id] = flow

    def begin(self, store: MutableMapping[str, Any], key: str, flow: OrderFlow,
              actor: Actor | None = None) -> OrderFlow | None:
        """:func:`begin`, unless an open submission of the same ticket exists anywhere in the process.

        ``actor`` (default: the local user) must be allowed to trade: otherwise the refusal is audited and
        :class:`~ibkr.errors.PermissionDenied` raised. The submission is audited before it is registered, so an
        audit log that cannot be written (:class:`~ibkr.errors.AuditUnavailable`) sends nothing."""
        actor = actor or local_actor()
        require(actor, Permission.TRADE, self.audit, f"{flow.kind.capitalize()} {flow.title}",
                account=flow.account_id, order=flow.title)
        with self._lock:
            twin = self._open_twin(flow.ticket_fingerprint)
            if twin is not None and twin is not store.get(key):
                log.info("the same ticket is already being submitted (%s); sending nothing", twin.flow_id)
                return None
            if store.get(key) is not None:
                return begin(store, key, flow)  # None: the click found its submission already there
            flow.actor, flow.audit = actor, self.audit
            journal(flow, "submit" if flow.kind == "new" else flow.kind, strict=True, coid=flow.coid,
                    fingerprint=flow.ticket_fingerprint)
            started = begin(store, key, flow)
            if started is not None:
                self._flows[started.flow_id] = started
                for old in list(self._flows)[:-self._keep]:
                    del self._flows[old]
                self._save()
            return started

    def save(self) -> None:
        """Write the open new orders to disk (after a request of one of them came back)."""
        with self._lock:
            self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        kept = [_record(f) for f in self._flows.values()
                if f.kind == "new" and f.stage in OPEN_STAGES and not f.dismissed]
        try:
            saved = read_json(self._path)
            saved[self._key] = {"open": kept}
            write_json(self._path, saved)
        except OSError as exc:
            log.warning("could not keep the open submissions in %s: %s", self._path, exc)

    def _newest(self, keep: Callable[[OrderFlow], bool]) -> list[OrderFlow]:
        """The flows nobody closed that ``keep`` accepts, newest first (called with the lock held)."""
        return [f for f in reversed(self._flows.values()) if not f.dismissed and keep(f)]

    def awaiting_answers(self) -> OrderFlow | None:
        """A submission whose question IBKR is waiting for an answer to, if any. While there is one, nothing else
        may go to the order endpoints: IBKR cancels an order whose reply does not come at once, and another
        order request (a place, modify, cancel, preview, or the live orders' polling) cancels it too."""
        with self._lock:
            return next(iter(self._newest(lambda f: f.stage is Stage.QUESTIONS)), None)

    def open_twin(self, fingerprint_: str | None) -> OrderFlow | None:
        with self._lock:
            return self._open_twin(fingerprint_)

    def _open_twin(self, fingerprint_: str | None) -> OrderFlow | None:
        if fingerprint_ is None:
            return None
        return next(iter(self._newest(lambda f: f.ticket_fingerprint == fingerprint_ and f.stage in OPEN_STAGES)),
                    None)

    def open_flows(self, kind: str = "new") -> list[OrderFlow]:
        """The submissions still open (sending, waiting for answers, outcome unknown), newest first."""
        with self._lock:
            return self._newest(lambda f: f.kind == kind and f.stage in OPEN_STAGES)

    def undismissed(self, kind: str = "new", within: float = 600.0) -> list[OrderFlow]:
        """What a session opened after a submission must show, newest first: the ones still open, and those of the
        last ``within`` seconds that nobody closed with "New order" (the page that sent them may have been
        reloaded or closed before IBKR answered; the order may have filled meanwhile)."""
        since = dt.datetime.now().astimezone() - dt.timedelta(seconds=within)
        with self._lock:
            return self._newest(lambda f: f.kind == kind and (f.stage in OPEN_STAGES or f.started_at >= since))


def _record(flow: OrderFlow) -> dict[str, Any]:
    return {"flow_id": flow.flow_id, "title": flow.title, "account_id": flow.account_id, "coid": flow.coid,
            "fingerprint": flow.ticket_fingerprint, "stage": flow.stage.value,
            "started_at": flow.started_at.isoformat()}


def _restored(saved: Any) -> list[OrderFlow]:
    """The open new orders an earlier process left on disk, each now of unknown outcome (to look up by cOID)."""
    flows: list[OrderFlow] = []
    items = saved.get("open") if isinstance(saved, dict) else None
    for item in items if isinstance(items, list) else []:
        try:
            started = dt.datetime.fromisoformat(item["started_at"])
            flow = OrderFlow("new", str(item["title"]), str(item["account_id"]), item.get("fingerprint"),
                             flow_id=str(item["flow_id"]), stage=Stage.UNKNOWN, coid=item.get("coid"),
                             started_at=started)
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring an unreadable saved submission: %r", item)
            continue
        was = "waiting for answers to IBKR's questions" if item.get("stage") == Stage.QUESTIONS else "being sent"
        flow.message = (f"The dashboard stopped at some point after {started:%Y-%m-%d %H:%M:%S %Z} while this order "
                        f"was {was}. It may have reached IBKR: look for its cOID among the live orders before "
                        "sending it again.")
        flows.append(flow)
    return flows


def begin(store: MutableMapping[str, Any], key: str, flow: OrderFlow) -> OrderFlow | None:
    """Register ``flow`` under ``key`` unless a submission is already there: None means "send nothing"."""
    if store.get(key) is not None:
        log.info("a submission is already under %s; ignoring the click", key)
        return None
    store[key] = flow
    return flow


def clear(store: MutableMapping[str, Any], key: str) -> None:
    """Forget a finished submission (the "New order" button); an active one stays."""
    flow = store.get(key)
    if flow is None or not flow.active:
        if flow is not None:
            flow.dismissed = True
        store.pop(key, None)


def journal(flow: OrderFlow, action: str, *, strict: bool = False, actor: Actor | None = None,
            outcome: str | None = None, **detail: Any) -> None:
    """Write a step of ``flow`` to its audit log (if it has one). ``strict``: raise when it cannot be written
    (before a request goes out); otherwise the failure is logged and said on the flow (the request is out)."""
    if flow.audit is None:
        return
    try:
        flow.audit.record(actor or flow.actor or local_actor(), action, account=flow.account_id,
                          flow_id=flow.flow_id, order=flow.title, outcome=outcome, **detail)
    except AuditUnavailable as exc:
        if strict:
            raise
        flow.message = f"{flow.message or ''} (Not in the audit log: {exc.message}.)".strip()


def _response(result: Any) -> tuple[str, dict[str, Any]]:
    """IBKR's answer to a request of a flow, for the audit log: a one-line outcome and the detail."""
    if isinstance(result, PendingConfirmation):
        questions: list[dict[str, Any]] = [{"id": q.message_id, "text": q.text} for q in result.questions]
        if result.prompt is not None:
            questions.append({"id": result.prompt.message_id, "text": result.prompt.text,
                              "options": list(result.prompt.options)})
        return "questions", {"reply_id": result.reply_id, "questions": questions}
    if isinstance(result, OrderAccepted):
        # IBKR's answer was lost (a timeout, a dropped connection, the gateway's empty 503) and the order was found
        # among the live orders by its cOID: the log says so, as the page does
        found = " (IBKR's answer was lost; found by its cOID among the live orders)" if result.found_after_timeout \
            else ""
        return (f"placed: order {result.order_id} {result.order_status or ''}".strip() + found,
                {"order_id": result.order_id, "status": result.order_status, "coid": result.coid,
                 "found_after_timeout": result.found_after_timeout})
    if isinstance(result, OrderDeclined):
        return "declined", {"message": result.message}
    return "acknowledged", {"response": getattr(result, "model_dump", lambda: repr(result))()}


def run(flow: OrderFlow, client: OrderClient, call: Callable[[], Any]) -> OrderFlow:
    """Send one request of the flow (place, modify, confirm) and record its outcome on the flow; IBKR's answer
    goes to the audit log first, so the page never shows an outcome the log lacks."""
    try:
        result = call()
    except Exception as exc:
        said = getattr(exc, "message", exc)
        journal(flow, "response", outcome=f"{REJECTED_OUTCOME}: {said}" if isinstance(exc, OrderRejected) else
                f"{type(exc).__name__}: {said}", status=getattr(exc, "status", None))
        _failed(flow, exc)
    else:
        outcome, detail = _response(result)
        journal(flow, "response", outcome=outcome, **detail)
        record(flow, client, result)
    finally:
        flow.answering = None
    return flow


def _failed(flow: OrderFlow, error: Exception) -> None:
    """Apply a request's failure to the flow: not sent, rejected, or of unknown outcome (look for its cOID)."""
    try:
        raise error
    except OrderRejected as exc:
        flow.stage, flow.pending, flow.message = Stage.REJECTED, None, exc.message
    except OrderStatusUnknown as exc:
        flow.stage, flow.pending, flow.message = Stage.UNKNOWN, None, exc.message
        flow.coid = exc.coid or flow.coid
    except NOT_SENT_ERRORS as exc:
        flow.stage, flow.pending = Stage.NOT_SENT, None
        flow.message = exc.message if exc.message.startswith("Order not sent") else f"Not sent: {exc.message}"
    except GatewayUnavailable as exc:
        if flow.pending is not None or flow.kind != "new":
            flow.stage, flow.pending = Stage.UNKNOWN, None
            flow.message = (f"The request failed before IBKR answered ({exc.message}). Check the live orders "
                            "before trying again.")
        else:
            flow.stage, flow.message = Stage.NOT_SENT, f"Not sent: {exc.message}"
    except IbkrError as exc:
        flow.stage, flow.pending = Stage.UNKNOWN, None
        flow.message = (f"IBKR's answer could not be read ({exc.message}). The order may have reached IBKR: check "
                        "the live orders before sending it again.")
    except Exception as exc:  # a bug must not leave the flow "sending" and the ticket locked
        log.exception("order request failed")
        flow.stage, flow.pending = Stage.UNKNOWN, None
        flow.message = (f"The request failed unexpectedly ({type(exc).__name__}: {exc}). The order may have reached "
                        "IBKR: check the live orders before sending it again.")


def send(flow: OrderFlow, work: Callable[[], Any], then: Callable[[], Any] | None = None) -> threading.Thread:
    """Do ``work`` (a :func:`run` or an :func:`answer`) on a thread of its own, then ``then``: the page that
    clicked returns at once and shows "Sending..." while IBKR answers, instead of freezing until it has.
    The flow was registered before (:func:`begin`), so a rerun meanwhile finds it and sends nothing."""
    def go() -> None:
        try:
            work()
        finally:
            if then is not None:
                try:
                    then()
                except Exception:  # the answer is on the flow already: an after-step must not hide it
                    log.exception("after sending %s", flow.flow_id)

    thread = threading.Thread(target=go, name=f"order-{flow.kind}-{flow.flow_id}", daemon=True)
    thread.start()
    return thread


def record(flow: OrderFlow, client: OrderClient, result: Any) -> None:
    """Apply an answer: questions to show, an accepted order (with its status), or the trader's "no"."""
    if isinstance(result, PendingConfirmation):
        flow.stage, flow.pending = Stage.QUESTIONS, result
        flow.coid = result.coid or flow.coid
        return
    flow.pending = None
    if isinstance(result, OrderDeclined):
        flow.stage = Stage.DECLINED
        said = (result.message or "").strip()
        flow.message = ("You declined IBKR's question, so IBKR did not place the order."
                        + (f" IBKR answered: {said}." if said else ""))
        return
    if isinstance(result, OrderAccepted):
        flow.stage, flow.accepted = Stage.PLACED, result
        flow.coid = result.coid or flow.coid
        if result.found_after_timeout:
            lost = (result.lost_answer or "no answer came").strip().rstrip(".")
            flow.message = (f"IBKR's answer was lost ({lost}), so the page looked for the order's cOID {flow.coid} "
                            f"among the live orders and found it: order {result.order_id} went through "
                            f"({result.order_status or 'status pending'}). Do not send it again.")
        flow.status = current_status(client, result.order_id)
        return
    flow.stage = Stage.ACKNOWLEDGED
    flow.message = getattr(result, "msg", None) or "IBKR acknowledged the request."


def current_status(client: OrderClient, order_id: str | None) -> OrderStatus | None:
    """The order's status right after the answer (None when IBKR cannot say yet)."""
    if not order_id:
        return None
    try:
        return client.order_status(order_id)
    except IbkrError as exc:
        log.info("status of order %s unavailable: %s", order_id, exc.message)
        return None


def round_key(pending: PendingConfirmation) -> str:
    """What identifies one round of questions: IBKR's reply id, or the request id of an advanced prompt."""
    if pending.prompt is not None:
        return f"prompt-{pending.prompt.req_id or pending.prompt.order_id}"
    return pending.reply_id or f"round-{pending.round}"


def answer(flow: OrderFlow, client: OrderClient, key: str, yes: bool, option: str | None = None,
           runner: Callable[[Callable[[], Any]], Any] = lambda work: work(), actor: Actor | None = None) -> bool:
    """The trader's answer to the round ``key``; False (nothing sent) when that round was answered already.

    ``option`` answers an advanced prompt (one of ``pending.prompt.options``). ``runner`` does the sending (at
    once by default; the dashboard passes one that sends on a thread, see :func:`send`). ``actor`` (default: who
    submitted) must be allowed to trade; the answer, with the questions' ids and texts, is audited before it goes.
    """
    pending = flow.pending
    if flow.stage is not Stage.QUESTIONS or pending is None or round_key(pending) != key or flow.answering:
        log.info("answer to %s ignored: that round is no longer open", key)
        return False
    actor = actor or flow.actor or local_actor()
    require(actor, Permission.TRADE, flow.audit, f"Answering IBKR's question about {flow.title}",
            account=flow.account_id, order=flow.title)
    ids = [q.message_id for q in pending.questions]
    if pending.prompt is not None:
        ids = [pending.prompt.message_id or "prompt"]
    _, asked = _response(pending)
    journal(flow, "answer", strict=True, actor=actor, outcome=option or ("yes" if yes else "no"), **asked)
    flow.answering = key  # before anything is sent: a second click on either button finds it and sends nothing
    flow.answered.append((ids, yes))
    if option is not None:
        runner(lambda: run(flow, client, lambda: client.confirm(pending, option=option)))
    else:
        runner(lambda: run(flow, client, lambda: client.confirm(pending) if yes else client.reject(pending)))
    return True


def recheck(flow: OrderFlow, client: OrderClient) -> bool:
    """Look for an order of unknown outcome among the live orders again, by its cOID; True when found. What the
    lookup found goes to the audit log before the flow shows it (an order found there is "placed" on the page)."""
    if flow.stage is not Stage.UNKNOWN or not flow.coid:
        return False
    try:
        order = client.find_live_order(flow.account_id, flow.coid)
    except IbkrError as exc:
        journal(flow, "recheck", outcome=f"{type(exc).__name__}: {exc.message}", coid=flow.coid)
        flow.message = f"Could not look at the live orders ({exc.message}). The order's cOID is {flow.coid}."
        return False
    if order is None:
        journal(flow, "recheck", outcome="not among the live orders", coid=flow.coid)
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        flow.message = (f"At {stamp} the order (cOID {flow.coid}) was still not among the live orders. It may yet "
                        "reach IBKR: check TWS or the live orders before sending it again.")
        return False
    found = OrderAccepted(order_id=str(order.order_id), order_status=order.status, coid=flow.coid,
                          found_after_timeout=True, lost_answer="its outcome was unknown until this look")
    outcome, detail = _response(found)
    journal(flow, "recheck", outcome=outcome, **detail)
    record(flow, client, found)
    return True
