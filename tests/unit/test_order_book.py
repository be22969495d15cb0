"""The per-account reader of live orders and trades (ibkr.order_book)."""

from __future__ import annotations

import pytest

from ibkr.errors import GatewayBusy, RateLimited
from ibkr.order_book import AccountRead, BookStore, book_loader


def test_each_account_is_read_on_its_own_and_a_failing_one_keeps_its_last_answer():
    answers = {"U1": ["o1"], "U2": GatewayBusy("IBKR is busy"), "U3": []}
    asked: list[str] = []

    def read(account: str) -> list[str]:
        asked.append(account)
        answer = answers[account]
        if isinstance(answer, Exception):
            raise answer
        return answer

    store = BookStore()
    store.put("U2", AccountRead(["old"], None, None))
    book = book_loader(read, lambda: ["U1", "U2", "U3"], store)()

    assert asked == ["U1", "U2", "U3"]
    assert book["U1"].items == ["o1"] and book["U1"].as_of and book["U1"].error is None
    assert book["U2"].items == ["old"] and book["U2"].error == "IBKR is busy"
    assert book["U3"].items == [] and book["U3"].as_of


def test_each_answer_is_published_at_once_and_a_prioritised_account_is_read_next_out_of_turn():
    store = BookStore()
    seen: list[tuple[str, list[str]]] = []

    def read(account: str) -> list[str]:
        seen.append((account, sorted(store.book())))
        if account == "U1" and len(seen) == 1:
            store.prioritise("U1")  # an order of U1 was just sent: read it again before U2 and U3
        return [account]

    book_loader(read, lambda: ["U1", "U2", "U3"], store)()

    assert [a for a, _ in seen] == ["U1", "U1", "U2", "U3"]
    assert seen[2][1] == ["U1"], "U1's answer was in the store while the round went on"


def test_a_429_ends_the_round_for_the_refresher_to_back_off():
    def read(account: str) -> list:
        raise RateLimited("rate-limited", retry_after=900)

    with pytest.raises(RateLimited):
        book_loader(read, lambda: ["U1"], BookStore())()


def test_the_round_stops_when_an_order_question_waits_and_the_rest_keep_their_answers():
    waiting = iter([True, False])
    store = BookStore()
    store.put("U2", AccountRead(["kept"], None, None))
    book = book_loader(lambda a: [a], lambda: ["U1", "U2"], store, go_on=lambda: next(waiting))()

    assert book["U1"].items == ["U1"] and book["U2"].items == ["kept"]
