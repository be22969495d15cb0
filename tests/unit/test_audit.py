"""Roles and the audit trail: checks where the action happens (the order register, the gateway actions), every
step recorded before its result is applied, entries that the app cannot change, none lost to a SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from ibkr.audit import Actor, AuditLog, Permission, Role, local_actor, role_for
from ibkr.db import Database
from ibkr.errors import AuditUnavailable, PermissionDenied
from ibkr.gateway import AuthState, PromptAction, perform
from ibkr.models import OrderAccepted, PendingConfirmation, Question
from ibkr.orders import submission as order_state
from ibkr.orders.submission import OrderFlow, Stage, Submissions
from tests.unit.test_gateway_actions import FakeManager
from tests.unit.test_order_page_logic import FakeClient

VIEWER = Actor("vera@desk.example", Role.VIEWER)
TRADER = Actor("tom@desk.example", Role.TRADER)
ADMIN = Actor("ada@desk.example", Role.ADMIN)


@pytest.fixture
def audit(tmp_path) -> AuditLog:
    log = AuditLog(tmp_path / "desk.sqlite3")
    yield log
    log.db.close()


def flow(title: str = "BUY 10 AAPL LMT limit 228.5 DAY") -> OrderFlow:
    return OrderFlow("new", title, "DU1", "fp-1", coid="desk-1")


def test_roles_come_from_the_claim_first_then_the_email_lists_and_default_to_viewer():
    lists = {"admins": ["Ada@Desk.example"], "traders": ["tom@desk.example"]}
    assert role_for("ada@desk.example", {}, **lists) is Role.ADMIN
    assert role_for("tom@desk.example", {}, **lists) is Role.TRADER
    assert role_for("someone@else.example", {}, **lists) is Role.VIEWER
    assert role_for(None, None, **lists) is Role.VIEWER
    assert role_for("someone@else.example", {"groups": ["desk", "trader"]}, claim="groups", **lists) is Role.TRADER
    assert role_for("ada@desk.example", {"role": "viewer"}, claim="role", **lists) is Role.VIEWER
    assert role_for("tom@desk.example", {"groups": ["desk"]}, claim="groups", **lists) is Role.TRADER  # names none
    assert role_for("x@else.example", {"groups": ["desk"]}, claim="groups", **lists) is Role.VIEWER
    assert role_for("tom@desk.example", {}, claim="groups", **lists) is Role.TRADER  # no claim: the lists
    assert [r for r in Role if Actor("x", r).may(Permission.TRADE)] == [Role.TRADER, Role.ADMIN]
    assert local_actor().role is Role.ADMIN and not local_actor().signed_in


def test_the_database_is_wal_synchronous_full_private_and_the_audit_table_append_only(audit, tmp_path):
    entry = audit.record(TRADER, "submit", account="DU1", order="BUY 1 AAPL")
    raw = sqlite3.connect(tmp_path / "desk.sqlite3")
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert audit.db.read("PRAGMA synchronous")[0][0] == 2  # FULL
    assert oct(os.stat(tmp_path / "desk.sqlite3").st_mode & 0o777) == "0o600"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE audit SET user = 'someone else' WHERE id = ?", (entry,))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM audit")
    raw.close()
    assert [e["user"] for e in audit.entries()] == ["tom@desk.example"]


def test_a_viewer_calling_the_order_path_directly_is_refused_audited_and_nothing_is_sent(audit):
    register, store, client = Submissions(audit=audit), {}, FakeClient()
    with pytest.raises(PermissionDenied, match="only a trader or an admin"):
        register.begin(store, "flow", flow(), actor=VIEWER)
    assert store == {} and register.open_flows() == [] and client.calls == []
    [entry] = audit.entries()
    assert (entry["user"], entry["role"], entry["action"], entry["account"]) == (
        "vera@desk.example", "viewer", "refused", "DU1")
    assert "BUY 10 AAPL" in entry["order"] and "viewer" in entry["outcome"]


def test_every_step_of_a_submission_is_audited_with_ibkrs_questions_and_the_answer(audit):
    register, store = Submissions(audit=audit), {}
    asked = PendingConfirmation(account_id="DU1", coid="desk-1", reply_id="r1",
                                questions=[Question(message_id="o163", text="The price exceeds 3% of the market")])
    client = FakeClient(asked, OrderAccepted(order_id="1234", order_status="Submitted", coid="desk-1"))
    started = register.begin(store, "flow", flow(), actor=TRADER)
    order_state.run(started, client, lambda: client.place_order(None))
    assert started.stage is Stage.QUESTIONS
    assert order_state.answer(started, client, order_state.round_key(asked), yes=True)
    assert started.stage is Stage.PLACED
    entries = list(reversed(audit.entries()))
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("submit", None), ("response", "questions"), ("answer", "yes"), ("response", "placed: order 1234 Submitted")]
    assert {e["user"] for e in entries} == {"tom@desk.example"} and {e["flow_id"] for e in entries} == {
        started.flow_id}
    assert '"text": "The price exceeds 3% of the market"' in entries[1]["detail"]
    assert '"id": "o163"' in entries[2]["detail"] and '"reply_id": "r1"' in entries[2]["detail"]


def test_a_viewer_cannot_answer_a_question_of_a_submission_it_took_over(audit):
    register, store = Submissions(audit=audit), {}
    asked = PendingConfirmation(account_id="DU1", reply_id="r1", questions=[Question(message_id="o1", text="Sure?")])
    client = FakeClient(asked)
    started = register.begin(store, "flow", flow(), actor=TRADER)
    order_state.run(started, client, lambda: client.place_order(None))
    with pytest.raises(PermissionDenied):
        order_state.answer(started, client, "r1", yes=True, actor=VIEWER)
    assert client.calls == ["place"] and started.stage is Stage.QUESTIONS and not started.answering
    assert audit.entries()[0]["action"] == "refused"


def test_an_audit_log_that_cannot_be_written_sends_nothing(tmp_path):
    audit = AuditLog(tmp_path / "desk.sqlite3")
    audit.db.close()  # a closed connection: every write fails, as a full disk or a broken file would
    register, store = Submissions(audit=audit), {}
    with pytest.raises(AuditUnavailable, match="nothing was done"):
        register.begin(store, "flow", flow(), actor=TRADER)
    assert store == {} and register.open_flows() == []


def test_gateway_actions_need_an_admin_and_are_audited_with_their_outcome(audit):
    manager = FakeManager(AuthState.COMPETING, after=AuthState.AUTHENTICATED)
    refused = perform(manager, PromptAction.TAKE_OVER, actor=TRADER, audit=audit)
    assert not refused.ok and "only an admin" in refused.message and manager.calls == []
    done = perform(manager, PromptAction.TAKE_OVER, actor=ADMIN, audit=audit)
    assert done.ok and manager.calls == ["take_over"]
    assert [(e["user"], e["action"]) for e in reversed(audit.entries())] == [
        ("tom@desk.example", "refused"), ("ada@desk.example", "gateway"), ("ada@desk.example", "gateway outcome")]
    assert audit.entries(action="gateway outcome")[0]["outcome"].startswith("Took the brokerage session over")


WRITER = textwrap.dedent("""
    import sys
    from ibkr.audit import Actor, AuditLog, Role
    log = AuditLog(sys.argv[1])
    actor = Actor("tom@desk.example", Role.TRADER)
    n = 0
    while True:
        n += 1
        entry = log.record(actor, "submit", account="DU1", order=f"BUY {n} AAPL")
        print(entry, flush=True)  # acknowledged: the row is committed and synced
""")


def test_a_writer_killed_with_sigkill_loses_no_entry_it_had_acknowledged(tmp_path):
    path = tmp_path / "desk.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    acknowledged: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            acknowledged.append(int(proc.stdout.readline()))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
    assert len(acknowledged) >= 200
    kept = {row[0] for row in sqlite3.connect(path).execute("SELECT id FROM audit")}
    assert set(acknowledged) <= kept


def test_one_database_per_file_per_process(tmp_path):
    assert Database.at(tmp_path / "a.db") is Database.at(tmp_path / "a.db")
    assert Database.at(tmp_path / "a.db") is not Database.at(tmp_path / "b.db")
