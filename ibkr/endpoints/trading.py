"""Placing orders and answering IBKR's questions; preview, modify, cancel. Nothing here is ever re-sent.

The flow (docs/cpapi.md 3.1-3.2)::

    result = client.place_order(ticket)              # OrderAccepted, or PendingConfirmation with questions
    while isinstance(result, PendingConfirmation):   # show result.questions to the trader, then either
        result = client.confirm(result)              #   yes: may bring the next round of questions
        # or client.reject(result)                   #   no: OrderDeclined, nothing placed

``place_order(ticket, accept={"o354"})`` answers "yes" on its own only to a round whose every question id
is in ``accept``. If the placement request times out or the connection drops, the order is looked for by its
``cOID`` among the live orders before anything is reported; it is never sent twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping
from typing import Any

from ibkr.endpoints._base import ibkr_endpoint, parse_as
from ibkr.endpoints.accounts import AccountEndpoints
from ibkr.endpoints.marketdata import MarketDataEndpoints
from ibkr.endpoints.order_queries import OrderQueryEndpoints
from ibkr.endpoints.resolve import ContractResolver
from ibkr.errors import (
    GatewayBusy,
    GatewayUnavailable,
    IbkrError,
    InvalidResponse,
    OrderRejected,
    OrderStatusUnknown,
    OrderValidationError,
    ReplyExpired,
    RequestRejected,
    UnknownAccount,
)
from ibkr.models import (
    CancelAck,
    OrderAccepted,
    OrderDeclined,
    OrderReply,
    PendingConfirmation,
    Question,
    WhatIf,
)
from ibkr.orders import FUTURES_CLASSES, AssetClass, OrderTicket, new_coid

log = logging.getLogger(__name__)
TAG = "Trading Orders"
MAX_ROUNDS = 20
ORDER_LOCK = threading.RLock()
"""Serialises order requests of the whole process: concurrent placements make reply ids race (ibind #103)."""


class TradingEndpoints(OrderQueryEndpoints, ContractResolver, AccountEndpoints, MarketDataEndpoints):
    """The write side of IBKR's "Orders" group."""

    def _placed_tickets(self) -> dict[str, Any]:
        """Tickets this client placed, by order id (and ``"cOID:<coid>"`` while questions are pending)."""
        placed: dict[str, Any] | None = getattr(self, "_placed", None)
        if placed is None:
            placed = {}
            self._placed = placed
        return placed

    def check_account(self, account_id: str) -> None:
        """Raise UnknownAccount unless ``/iserver/accounts`` lists ``account_id`` (asked again once on a miss)."""
        known = self.tradable_account_ids()
        if account_id not in known:
            known = self.tradable_account_ids(refresh=True)
        if account_id not in known:
            listed = ", ".join(known) or "none (is the brokerage session up?)"
            raise UnknownAccount(f"Order not sent: account {account_id} is not one this session can trade. "
                                 f"Accounts you can trade: {listed}.", endpoint="GET /iserver/accounts")

    def _prepare(self, ticket: OrderTicket) -> tuple[int, OrderTicket]:
        ticket.check()
        self.check_account(ticket.account_id)
        conid = self.resolve_conid(ticket)
        return conid, ticket.model_copy(update={"conid": conid})

    @ibkr_endpoint("POST", "/iserver/account/{accountId}/orders", TAG)
    def place_order(
        self, ticket: OrderTicket, accept: Collection[str] = frozenset(), *, coid: str | None = None,
        operator: str | None = None, manual: bool | None = None,
    ) -> OrderAccepted | PendingConfirmation:
        """Place one order: validated, account checked and contract resolved before anything is sent.

        ``coid`` is the client order id to send it under (a fresh one when None): a caller that records the
        submission before sending it (``ibkr.orders.submission.Submissions``) can find the order by it later.

        Returns :class:`OrderAccepted`, or :class:`PendingConfirmation` carrying IBKR's questions. A round of
        questions is answered "yes" automatically only when every one of its message ids is in ``accept``.
        Futures and futures options carry ``manualIndicator`` (``manual``, default ``settings.manual_orders``)
        and ``extOperator`` (``operator``, default ``settings.operator``), as CME Rule 536-B and IBKR require.

        Raises OrderValidationError / UnknownAccount (nothing sent), OrderRejected (IBKR said no), or
        OrderStatusUnknown (the request failed mid-way and the order is not among the live orders).
        """
        conid, resolved = self._prepare(ticket)
        coid = coid or new_coid()
        body = {**resolved.body(conid, coid), **self._origin(resolved.asset_class, operator, manual)}
        path = f"/iserver/account/{ticket.account_id}/orders"
        log.info("placing %s (cOID %s)", resolved.describe(), coid)
        with ORDER_LOCK:
            try:
                data = self._transport.post(path, json={"orders": [body]}, idempotent=False)
            except GatewayUnavailable as exc:
                return self._recover(ticket.account_id, coid, exc, resolved)
            except RequestRejected as exc:
                raise OrderRejected(f"IBKR rejected the order: {_reason(exc)}", status=exc.status,
                                    endpoint=exc.endpoint, body=exc.body) from exc
            reply = parse_as(OrderReply, data, f"POST {path}")
            return self._follow(reply, ticket.account_id, coid, frozenset(accept), 1, resolved)

    @ibkr_endpoint("POST", "/iserver/reply/{replyId}", TAG)
    def confirm(
        self, pending: PendingConfirmation, accept: Collection[str] = frozenset(), *, option: str | None = None
    ) -> OrderAccepted | PendingConfirmation:
        """Answer "yes" to this round of questions (``{"confirmed": true}``); IBKR may ask another round.

        ``accept`` works as in :meth:`place_order` for the rounds after this one. For an advanced reject prompt
        (``pending.prompt``) pass ``option``, one of ``pending.prompt.options``; it is sent to
        ``POST /iserver/notification``.
        """
        if pending.prompt is not None:
            return self._answer_prompt(pending, option)
        if not pending.reply_id:
            raise OrderValidationError("This pending order has no reply id to answer.")
        with ORDER_LOCK:
            reply = self._reply(pending, confirmed=True)
            return self._follow(reply, pending.account_id, pending.coid, frozenset(accept), pending.round + 1, None)

    def reject(self, pending: PendingConfirmation) -> OrderDeclined:
        """Answer "no" to this round of questions (``{"confirmed": false}``): IBKR does not place the order."""
        if pending.prompt is not None:
            raise OrderValidationError(
                f"An IBKR prompt is answered by choosing one of: {', '.join(pending.prompt.options)} "
                f"(confirm(pending, option=...)); to drop the order, cancel order {pending.prompt.order_id}."
            )
        path = f"/iserver/reply/{pending.reply_id}"
        with ORDER_LOCK:
            try:
                data = self._transport.post(path, json={"confirmed": False}, idempotent=False)
            except RequestRejected as exc:  # IBKR may answer the "no" with an error status: still declined
                return OrderDeclined(reply_id=pending.reply_id, coid=pending.coid, message=_reason(exc))
        reply = parse_as(OrderReply, data, f"POST {path}")
        if reply.accepted:
            raise OrderStatusUnknown(
                f"IBKR placed order {reply.accepted[0].order_id} although it was declined; cancel it if unwanted.",
                coid=pending.coid, endpoint=f"POST {path}",
            )
        return OrderDeclined(reply_id=pending.reply_id, coid=pending.coid, message=reply.error or "declined")

    @ibkr_endpoint("POST", "/iserver/account/{accountId}/orders/whatif", TAG)
    def whatif(self, ticket: OrderTicket) -> WhatIf:
        """Preview an order's commission and its effect on equity, margin and position; nothing is placed.

        IBKR: "Clients must query /iserver/marketdata/snapshot for the instrument prior to requesting the
        /whatif endpoint" (v1 docs, Preview Order), so an instrument not quoted in this brokerage session is
        quoted first (one snapshot call; its market data then streams for the session)."""
        conid, resolved = self._prepare(ticket)
        self._quote_once(conid)
        path = f"/iserver/account/{ticket.account_id}/orders/whatif"
        body = {**resolved.body(conid, None), **self._origin(resolved.asset_class, None, None)}
        try:
            data = self._transport.post(path, json={"orders": [body]}, idempotent=True)
        except RequestRejected as exc:
            raise OrderRejected(f"IBKR cannot preview this order: {_reason(exc)}", status=exc.status,
                                endpoint=exc.endpoint, body=exc.body) from exc
        return parse_as(WhatIf, data, f"POST {path}")

    def _quote_once(self, conid: int) -> None:
        """A snapshot of ``conid`` unless this client asked for one in the current brokerage session."""
        if not self._done_in_session(("quoted", conid)):
            self.marketdata_snapshot([conid], fields=["31"])
            self._mark_done_in_session(("quoted", conid))

    @ibkr_endpoint("DELETE", "/iserver/account/{accountId}/order/{orderId}", TAG)
    def cancel(
        self, account_id: str, order_id: int | str, *, manual: bool | None = None, operator: str | None = None,
    ) -> CancelAck:
        """Ask IBKR to cancel an order. The answer only acknowledges the request: check :meth:`order_status`.

        Every cancel carries ``manualIndicator`` and ``extOperator`` (defaults as in :meth:`place_order`): IBKR
        requires them on a futures cancel "regardless of original submission" (v1 docs, Cancel Order), and an
        order placed in TWS or before a restart has no ticket here to say it is a future. Sending them on other
        cancels is the safer reading: IBKR documents them as cancel parameters without restricting them.
        """
        path = f"/iserver/account/{account_id}/order/{order_id}"
        origin = self._origin_fields(operator, manual)
        params = {"manualIndicator": str(origin["manualIndicator"]).lower(), "extOperator": origin["extOperator"]}
        with ORDER_LOCK:
            data = self._send_order_change("DELETE", path, f"The cancel request for order {order_id}",
                                           f"IBKR refused to cancel order {order_id}", params=params)
        ack = parse_as(CancelAck, data, f"DELETE {path}")
        if ack.error:
            raise OrderRejected(f"IBKR refused to cancel order {order_id}: {ack.error}", endpoint=f"DELETE {path}")
        return ack

    def _origin(self, asset_class: AssetClass, operator: str | None, manual: bool | None) -> dict[str, Any]:
        """``manualIndicator`` and ``extOperator`` for a futures or futures-option request (CME Rule 536-B:
        whether a person entered it, and who); nothing for other asset classes."""
        return self._origin_fields(operator, manual) if asset_class in FUTURES_CLASSES else {}

    def _origin_fields(self, operator: str | None, manual: bool | None) -> dict[str, Any]:
        """``manualIndicator`` and ``extOperator``, the call's own or the settings' defaults."""
        settings = self.settings
        return {"manualIndicator": settings.manual_orders if manual is None else manual,
                "extOperator": (operator or "").strip() or settings.operator}

    def _send_order_change(self, method: str, path: str, request: str, refused: str, **kwargs: Any) -> Any:
        """Send a modify or cancel once (never retried); a lost answer or a refusal becomes an order error."""
        try:
            if method == "DELETE":
                return self._transport.delete(path, **kwargs)
            return self._transport.post(path, idempotent=False, **kwargs)
        except GatewayUnavailable as exc:
            raise OrderStatusUnknown(
                f"{request} failed before IBKR answered ({exc.message}). Check the order's status before trying "
                "again.", endpoint=f"{method} {path}",
            ) from exc
        except RequestRejected as exc:
            raise OrderRejected(f"{refused}: {_reason(exc)}", status=exc.status, endpoint=exc.endpoint,
                                body=exc.body) from exc

    @ibkr_endpoint("POST", "/iserver/account/{accountId}/order/{orderId}", TAG)
    def modify(
        self, account_id: str, order_id: int | str, changes: Mapping[str, Any], *, original: OrderTicket | None = None,
        accept: Collection[str] = frozenset(), operator: str | None = None, manual: bool | None = None,
    ) -> OrderAccepted | PendingConfirmation:
        """Change a working order. IBKR wants the whole original ticket with only the changed values different.

        ``changes`` uses the ticket's field names (``quantity``, ``limit_price``, ``stop_price``, ``tif``,
        ``outside_rth``, ``trailing_amount``, ``order_type``). The original ticket is ``original`` if given, else
        the one this client placed, else it is rebuilt from the live order (which cannot show every field: pass
        ``original`` for stop-limit and trailing orders placed elsewhere).
        """
        base = original or self._placed_tickets().get(str(order_id)) or self.rebuild_ticket(account_id, order_id)
        conid = self.resolve_conid(base)
        changed = type(base)(**{**base.model_dump(exclude={"kind"}), **dict(changes), "conid": conid})
        changed.check()
        path = f"/iserver/account/{account_id}/order/{order_id}"
        body = {**changed.body(conid, None), **self._origin(changed.asset_class, operator, manual)}
        with ORDER_LOCK:
            data = self._send_order_change("POST", path, f"The modify request for order {order_id}",
                                           "IBKR rejected the change", json=body)
            reply = parse_as(OrderReply, data, f"POST {path}")
            return self._follow(reply, account_id, None, frozenset(accept), 1, changed)

    # -- the reply loop ---------------------------------------------------------------------------------------------

    def _follow(
        self, reply: OrderReply, account_id: str, coid: str | None, accept: frozenset[str], round_: int,
        ticket: Any,
    ) -> OrderAccepted | PendingConfirmation:
        for _ in range(MAX_ROUNDS):
            if reply.error:
                raise OrderRejected(f"IBKR rejected the order: {reply.error.strip()}", body={"error": reply.error})
            if reply.accepted:
                accepted = reply.accepted[0].model_copy(update={"coid": coid})
                ticket = ticket if ticket is not None else self._placed_tickets().pop(f"cOID:{coid}", None)
                if ticket is not None:
                    self._placed_tickets()[accepted.order_id] = ticket
                log.info("order %s accepted (%s), cOID %s", accepted.order_id, accepted.order_status, coid)
                return accepted
            if reply.prompt is not None:
                return PendingConfirmation(account_id=account_id, coid=coid, prompt=reply.prompt, round=round_)
            if not reply.questions:
                raise InvalidResponse("IBKR answered the order with neither an order id, a question nor an error.")
            question = reply.questions[0]
            ids = list(question.message_ids) + [""] * (len(question.message) - len(question.message_ids))
            pending = PendingConfirmation(
                account_id=account_id, coid=coid, reply_id=question.reply_id, round=round_,
                questions=[Question(message_id=i, text=t) for i, t in zip(ids, question.message, strict=False)],
            )
            if not (pending.questions and all(q.message_id for q in pending.questions)
                    and pending.message_ids <= accept):
                if ticket is not None and coid:
                    self._placed_tickets()[f"cOID:{coid}"] = ticket
                return pending
            log.info("round %d: accepting %s as the caller allowed", round_, sorted(pending.message_ids))
            reply = self._reply(pending, confirmed=True)
            round_ += 1
        raise OrderStatusUnknown(f"IBKR asked more than {MAX_ROUNDS} rounds of questions; check the live orders.",
                                 coid=coid)

    def _reply(self, pending: PendingConfirmation, *, confirmed: bool) -> OrderReply:
        path = f"/iserver/reply/{pending.reply_id}"
        try:
            data = self._transport.post(path, json={"confirmed": confirmed}, idempotent=False)
        except GatewayBusy as exc:
            if exc.status == 503:  # IBKR's answer to a reply it invalidated (V1, Place Order Reply Confirmation)
                return OrderReply(accepted=[self._expired(pending, exc)])
            raise OrderStatusUnknown(f"The answer to IBKR's question failed ({exc.message}). Check the live "
                                     "orders before trying again.", coid=pending.coid, status=exc.status,
                                     endpoint=f"POST {path}") from exc
        except GatewayUnavailable as exc:
            if pending.coid:
                found = self._recover(pending.account_id, pending.coid, exc, None)
                return OrderReply(accepted=[found])
            raise OrderStatusUnknown(f"The answer to IBKR's question failed mid-way ({exc.message}). Check the "
                                     "order's status before trying again.", endpoint=f"POST {path}") from exc
        except RequestRejected as exc:
            raise OrderRejected(f"IBKR rejected the order: {_reason(exc)}", status=exc.status,
                                endpoint=exc.endpoint, body=exc.body) from exc
        return parse_as(OrderReply, data, f"POST {path}")

    def _expired(self, pending: PendingConfirmation, exc: GatewayBusy) -> OrderAccepted:
        """A 503 to a reply: IBKR cancelled the order it asked about. Say so only once the live orders confirm
        that no order of this cOID exists; if one does (or they cannot be read), the outcome is unknown."""
        order = None
        if pending.coid:
            try:
                order = self.find_live_order(pending.account_id, pending.coid)
            except IbkrError as lookup:
                raise OrderStatusUnknown(
                    f"IBKR did not take the answer ({exc.message}) and the live orders could not be read "
                    f"({lookup.message}). Check them for cOID {pending.coid} before placing the order again.",
                    coid=pending.coid, status=exc.status, endpoint=exc.endpoint) from exc
        if order is None:
            raise ReplyExpired(
                "IBKR rejected the order: it cancelled the order because its question was not answered at once "
                "(IBKR cancels an order whose reply comes late or after another order request). The live orders "
                f"hold no order with cOID {pending.coid}: nothing was placed. Submit it again if you still want "
                "it.", status=exc.status, endpoint=exc.endpoint, body=exc.body) from exc
        return OrderAccepted(order_id=str(order.order_id), order_status=order.status, coid=pending.coid,
                             found_after_timeout=True, lost_answer=_lost(exc))

    def _answer_prompt(self, pending: PendingConfirmation, option: str | None) -> OrderAccepted:
        prompt = pending.prompt
        assert prompt is not None
        if option not in prompt.options:
            raise OrderValidationError(f"Choose one of: {', '.join(prompt.options)}.")
        with ORDER_LOCK:
            body = {"orderId": prompt.order_id, "reqId": prompt.req_id, "text": option}
            try:
                self._transport.post("/iserver/notification", json=body, idempotent=False)
            except InvalidResponse as exc:  # IBKR documents a JSON string; plain text with 200 is an answer too
                if exc.status != 200:
                    raise
        return OrderAccepted(order_id=str(prompt.order_id), order_status=None, coid=pending.coid)

    def _recover(self, account_id: str, coid: str, exc: GatewayUnavailable, ticket: Any) -> OrderAccepted:
        """After a timeout or a dropped connection: find the order by cOID, or raise OrderStatusUnknown."""
        log.warning("order request (cOID %s) failed mid-way (%s); looking for it among live orders", coid, exc.message)
        try:
            order = self.find_live_order(account_id, coid)
        except IbkrError as lookup:  # not "not among the live orders": nobody could look
            log.warning("could not look up live orders: %s", lookup.message)
            raise OrderStatusUnknown(
                f"The order request failed before IBKR answered ({exc.message}) and the live orders could not be read "
                f"to look for it ({lookup.message}). It may have reached IBKR: look for cOID {coid} among the live "
                "orders (or in TWS) before placing it again.", coid=coid, status=exc.status, endpoint=exc.endpoint,
            ) from exc
        if order is None and ticket is None:  # the answer to a question: IBKR may have asked another one
            raise OrderStatusUnknown(
                f"Your answer to IBKR's question went out but IBKR's reply was lost ({_lost(exc)}), and the order "
                f"(cOID {coid}) is not among the live orders. IBKR may have asked a further question in that reply: "
                "an order waiting for an answer is not placed, and IBKR drops it at the next order request. Check the "
                "live orders (or TWS) before placing it again.", coid=coid, status=exc.status, endpoint=exc.endpoint,
            ) from exc
        if order is None:
            raise OrderStatusUnknown(
                f"The order request failed before IBKR answered ({exc.message}) and the order (cOID {coid}) is not "
                "among the live orders. It may still reach IBKR: check the live orders (or TWS) before placing it "
                "again.", coid=coid, status=exc.status, endpoint=exc.endpoint,
            ) from exc
        accepted = OrderAccepted(order_id=str(order.order_id), order_status=order.status, coid=coid,
                                 found_after_timeout=True, lost_answer=_lost(exc))
        if ticket is not None:
            self._placed_tickets()[accepted.order_id] = ticket
        return accepted


def _lost(exc: IbkrError) -> str:
    """What became of an answer that never came back whole, in a few words for the order's message."""
    if exc.status:
        return f"the gateway answered HTTP {exc.status}"
    if "did not answer within" in exc.message:
        return exc.message[0].lower() + exc.message[1:].rstrip(".")
    return "the connection failed or dropped"


def _reason(exc: IbkrError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"].strip()
    return exc.message
