"""Submitting: the Submit button (one click, one order), IBKR's questions verbatim with their ids and the
trader's yes or no to each, and the final answer. ``draw_flow`` also shows modify and cancel requests."""

from __future__ import annotations

import streamlit as st

from ibkr.audit import Permission
from ibkr.errors import AuditUnavailable, PermissionDenied
from ibkr.models import PendingConfirmation
from ibkr.orders import OrderTicket, new_coid
from ibkr.orders.entry import fingerprint
from ibkr.orders.submission import OrderFlow, Stage, answer, clear, recheck, round_key, run, send
from ibkr_desk import auth
from ibkr_desk.ui import fmt, services, state, tables
from ibkr_desk.ui.orders.lookups import refresh
from ibkr_desk.ui.orders.text import escape, ibkr_markdown
from ibkr_desk.ui.orders.ticket import TicketView

DISABLED_WHY = ("Preview only: sending orders is switched off (IBKR_TRADING_ENABLED=false, the default). An "
                "administrator can set IBKR_TRADING_ENABLED=true and restart the dashboard to allow orders.")
REFUSED = "order_refused"  # why the last click sent nothing (a role or an audit log that cannot be written)


def cannot_send() -> str | None:
    """Why this session may not send, modify or cancel orders (trading switched off, or the person's role), or
    None. The order register checks the role again when something is sent (ibkr.orders.submission)."""
    if not services.settings().trading_enabled:
        return DISABLED_WHY
    return auth.why_not(Permission.TRADE)


def begin_or_say(key: str, flow: OrderFlow) -> OrderFlow | None:
    """Register ``flow`` for this session's person (``Submissions.begin``); a refusal (their role, an audit log
    that cannot be written) is kept to be shown and sends nothing."""
    st.session_state.pop(f"{REFUSED}-{key}", None)
    try:
        return services.submissions().begin(st.session_state, key, flow, actor=auth.actor())
    except (PermissionDenied, AuditUnavailable) as exc:
        st.session_state[f"{REFUSED}-{key}"] = f"Not sent: {exc.message}."
        return None


def refused(key: str) -> None:
    """What the last click under ``key`` was refused for, if anything."""
    if st.session_state.get(f"{REFUSED}-{key}"):
        st.error(st.session_state[f"{REFUSED}-{key}"], icon=":material/block:")


def paused_for_answers(own: OrderFlow | None = None) -> str | None:
    """Why no order request may go out now (another submission's question waits for its answer), or None."""
    waiting = services.submissions().awaiting_answers()
    if waiting is None or waiting is own:
        return None
    return (f"IBKR is waiting for the answer to its question about {waiting.title} (submitted at "
            f"{fmt.stamp(waiting.started_at)}). Any other order request now would make IBKR cancel that order: "
            "answer it first.")


def button(view: TicketView, blocked: str | None, over_limits: list[str] | None = None) -> None:
    """The Submit button: registers the submission, sends the one order, records IBKR's answer. Disabled, saying
    why, while nothing may be sent (``blocked``: :func:`cannot_send`) or the ticket breaks one of the desk's
    limits (``over_limits``)."""
    flow = st.session_state.get(state.NEW_FLOW)
    ticket = view.check.ticket
    twin = services.submissions().open_twin(fingerprint(ticket)) if ticket is not None else None
    paused = paused_for_answers()
    if blocked or flow is not None or over_limits or twin is not None or paused:
        why = (blocked if blocked else
               "This ticket's submission is shown below; New order starts another." if flow is not None else
               paused if paused else
               f"This exact order was submitted at {fmt.stamp(twin.started_at)} and IBKR has not settled it yet; "
               "sending it again would make a second order." if twin is not None else
               " ".join(over_limits or []))
        st.button("Submit order", icon=":material/send:", disabled=True, width="stretch", help=why)
        return
    # on_click: the order is sent at the very start of the rerun the click causes, before the page loads anything
    # (a portfolio reload held Submit back 30 s), and it is the ticket the trader saw that is sent.
    with st.container(key=f"order-submit-{view.input.side}"):  # blue for a BUY, red for a SELL (tables.SIDE_CSS)
        st.button("Submit order", type="primary", icon=":material/send:", disabled=ticket is None, width="stretch",
                  key="order_submit", help="Sends this one order to IBKR. IBKR may ask you to confirm first.",
                  on_click=_submit, args=(ticket,))


def _submit(ticket: OrderTicket | None) -> None:
    """Register the submission, send the one order, record IBKR's answer (a button callback)."""
    if ticket is None:
        return
    client, register = services.client(), services.submissions()
    # No Streamlit call between registering the flow and recording IBKR's answer (see ibkr.orders.submission).
    # The register keeps it (with the cOID it goes under) on disk, and the audit log has it, before it leaves.
    flow = begin_or_say(state.NEW_FLOW, OrderFlow(
        "new", ticket.describe(), ticket.account_id, fingerprint(ticket), coid=new_coid()))
    if flow is not None:  # sent on a thread: the page shows "Sending..." at once and polls for IBKR's answer
        coid = flow.coid
        send(flow, lambda: run(flow, client, lambda: client.place_order(ticket, coid=coid)), register.save)


ADOPTED = "order_flow_adopted"  # the flow id this session took over from the process-wide register
ADOPTION_DONE = "order_flow_adoption_done"  # this session looked for a submission to adopt (its first run)


def current() -> OrderFlow | None:
    """This session's submission; in a fresh session (a reload, another tab) the newest one of the process that
    nobody closed with "New order" yet, which it then shows (and locks the ticket on), so nobody sends it twice.

    "Shown to someone" cannot stand in for "closed": a session whose browser reloaded keeps running its script
    to the end, drawing the outcome for nobody."""
    flow = st.session_state.get(state.NEW_FLOW)
    if flow is None and not st.session_state.get(ADOPTION_DONE):
        # Only a session's first run adopts, and only the newest: after its "New order" an older submission must
        # not take the ticket over (it did, flow after flow, until every one was closed).
        st.session_state[ADOPTION_DONE] = True
        pending = services.submissions().undismissed()
        if pending:
            flow = st.session_state[state.NEW_FLOW] = pending[0]
            st.session_state[ADOPTED] = flow.flow_id
    return flow


def panel(blocked: str | None) -> None:
    """The submission of the ticket (questions, outcome), or why nothing can be sent."""
    refused(state.NEW_FLOW)
    flow = st.session_state.get(state.NEW_FLOW)
    if flow is not None and st.session_state.get(ADOPTED) == flow.flow_id:
        st.caption(f"Submitted at {fmt.stamp(flow.started_at, date=True)} in another session of this dashboard "
                   "(a page since reloaded, another tab or another viewer, or before the dashboard restarted). "
                   "The ticket stays locked until it is closed with New order.")
    if flow is not None:
        draw_flow(flow, state.NEW_FLOW)
    elif blocked:
        st.info(blocked, icon=":material/lock:")


def _after_send(flow: OrderFlow | None = None) -> None:
    """Refresh the live orders and trades once something may have changed at IBKR (not between questions)."""
    if flow is None or not flow.active:
        refresh(flow.account_id if flow is not None else None)


def draw_flow(flow: OrderFlow, key: str) -> None:
    """Show a submission: sending, IBKR's questions with yes/no, or its outcome (with a button to close it)."""
    if flow.stage is Stage.SENDING or flow.answering:
        doing = f"Sending {flow.title}" if flow.stage is Stage.SENDING else "Sending your answer to IBKR"
        st.info(f"{doing}... (since {fmt.stamp(flow.started_at)}). If this stays, check the live orders before "
                "sending anything again.", icon=":material/hourglass_top:")
        if flow.kind == "new":
            _await_answer(flow)
        return
    if flow.stage is Stage.QUESTIONS and flow.pending is not None:
        _questions(flow, flow.pending)
        return
    _outcome(flow)
    label = "New order" if flow.kind == "new" else "Close"
    if st.button(label, key=f"{key}-close-{flow.flow_id}", icon=":material/add:" if flow.kind == "new" else None):
        clear(st.session_state, key)
        st.rerun()


@st.fragment(run_every=0.5)
def _await_answer(flow: OrderFlow) -> None:
    """Poll the flow the sending thread writes to; redraw the page once IBKR answered."""
    if flow.stage is not Stage.SENDING and not flow.answering:
        _after_send(flow)
        st.rerun(scope="app")


def _questions(flow: OrderFlow, pending: PendingConfirmation) -> None:
    key = round_key(pending)
    with st.container(border=True):
        what = "placing" if flow.kind == "new" else "changing"
        st.markdown(f"**IBKR asks before {what}** {tables.side_markdown(escape(flow.title))}  \n"
                    f"<small>Account {escape(fmt.account(flow.account_id, auth.masks_accounts()))} · round {pending.round}. Nothing is placed until you "
                    "confirm.</small>", unsafe_allow_html=True)
        for question in pending.questions:
            st.markdown(f"`{question.message_id or 'no id'}`")
            st.markdown(ibkr_markdown(question.text))
        if pending.prompt is not None:
            prompt = pending.prompt
            st.markdown(f"`{prompt.message_id or 'prompt'}`")
            st.markdown(ibkr_markdown(prompt.text or ""))
            cols = st.columns(max(1, len(prompt.options)))
            for col, option in zip(cols, prompt.options, strict=False):
                col.button(option, key=f"opt-{key}-{option}", on_click=_answer, args=(flow, key, True, option))
            return
        yes, no = st.columns(2)
        # Neither answer is the prominent one: IBKR's question is the last stop before a fat finger goes through.
        refuse = "No, do not place it" if flow.kind == "new" else "No, keep the order as it is"
        yes.button("Yes, I confirm", key=f"yes-{key}", width="stretch", on_click=_answer, args=(flow, key, True))
        no.button(refuse, key=f"no-{key}", width="stretch", on_click=_answer, args=(flow, key, False))


def _answer(flow: OrderFlow, key: str, yes: bool, option: str | None = None) -> None:
    """The trader's answer to one round of IBKR's questions, sent at once (a button callback): on a thread for
    the ticket's own submission (its panel polls), inline in the live orders' fragment (a modify's questions)."""
    register, person = services.submissions(), auth.actor()
    where = f"{REFUSED}-{state.NEW_FLOW if flow.kind == 'new' else state.BOOK_FLOW}"
    st.session_state.pop(where, None)
    try:
        if flow.kind == "new":
            answer(flow, services.client(), key, yes, option=option, actor=person,
                   runner=lambda work: send(flow, work, register.save))
            return
        answer(flow, services.client(), key, yes, option=option, actor=person)
    except (PermissionDenied, AuditUnavailable) as exc:
        st.session_state[where] = f"Your answer was not sent: {exc.message}."
        return
    register.save()
    _after_send(flow)


def _recheck(flow: OrderFlow) -> None:
    recheck(flow, services.client())
    services.submissions().save()
    _after_send(flow)


def _outcome(flow: OrderFlow) -> None:
    answered = ", ".join(f"{'yes' if yes else 'no'} to {' + '.join(ids)}" for ids, yes in flow.answered)
    footer = " · ".join(p for p in (f"cOID {flow.coid}" if flow.coid else "",
                                    f"your answers: {answered}" if answered else "") if p)
    if flow.stage is Stage.PLACED:
        status = flow.status
        state = (status.order_status if status else None) or (flow.accepted.order_status if flow.accepted else None)
        verb = "placed" if flow.kind == "new" else "modified"
        lines = [f"**Order {flow.order_id} {verb}: {state or 'status pending'}**",
                 tables.side_markdown(escape(flow.title))]
        if status is not None and status.cum_fill:
            lines.append(f"Filled {fmt.quantity(status.cum_fill)} at {fmt.quantity(status.average_price or 0)} "
                         f"{status.currency or ''}".rstrip())
        st.success("  \n".join(lines), icon=":material/check_circle:")
        if flow.message:
            st.info(flow.message, icon=":material/manage_search:")
    elif flow.stage is Stage.ACKNOWLEDGED:
        st.success(f"{escape(flow.title)}: {flow.message}", icon=":material/check_circle:")
    elif flow.stage is Stage.DECLINED:
        st.info(f"**Not placed:** {escape(flow.title)}  \n{flow.message}", icon=":material/pan_tool:")
    elif flow.stage is Stage.REJECTED:
        reason = (flow.message or "").removeprefix("IBKR rejected the order: ")
        st.error(f"**Rejected by IBKR:** {escape(flow.title)}  \n{reason}", icon=":material/block:")
    elif flow.stage is Stage.UNKNOWN:
        st.error(f"**Outcome unknown.** {flow.message}", icon=":material/help:")
        if flow.coid:
            st.button(f"Look for cOID {flow.coid} again", key=f"recheck-{flow.flow_id}",
                      icon=":material/manage_search:", on_click=_recheck, args=(flow,))
    else:
        st.error(f"**Not sent.** {flow.message}", icon=":material/block:")
    if footer:
        st.caption(footer)
