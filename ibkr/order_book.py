"""Live orders and trades of every account, read by one background thread per kind for the whole process.

IBKR answers ``/iserver/account/orders`` and ``/iserver/account/trades`` for the *selected* account when no
``accountId`` is given (docs/cpapi.md section 3.3), so each account is read on its own, and IBKR allows one such
call per 5 s: three accounts take 11 s a round, an advisor's 250 much longer. Page fragments must not wait for
that, so a :class:`~ibkr.refresher.Refresher` reads round after round and viewers show what it holds, each
account with the time it was read. An account whose read fails keeps its last good answer with the reason; a
429 ends the round and keeps everything (the refresher waits out IBKR's penalty). No Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ibkr.errors import IbkrError, RateLimited
from ibkr.refresher import Refresher, RefreshStatus

T = TypeVar("T")


@dataclass(frozen=True)
class AccountRead(Generic[T]):
    """One account's live orders or trades: the last good answer, when it was read, why a newer one is missing."""

    items: list[T] = field(default_factory=list)
    as_of: dt.datetime | None = None  # None: never read
    error: str | None = None  # the last read's failure (None after a good read)


Book = dict[str, AccountRead]


class BookStore:
    """The answers per account, published as each account is read (a viewer never waits for a whole round),
    and the accounts to read next, out of turn (the one an order was just sent for)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._book: Book = {}
        self._urgent: list[str] = []

    def book(self) -> Book:
        with self._lock:
            return dict(self._book)

    def get(self, account: str) -> AccountRead:
        with self._lock:
            return self._book.get(account, AccountRead())

    def put(self, account: str, read: AccountRead) -> None:
        with self._lock:
            self._book[account] = read

    def prioritise(self, account: str) -> None:
        with self._lock:
            if account not in self._urgent:
                self._urgent.append(account)

    def take_urgent(self) -> str | None:
        with self._lock:
            return self._urgent.pop(0) if self._urgent else None

    def has_urgent(self) -> bool:
        with self._lock:
            return bool(self._urgent)


def book_loader(read: Callable[[str], list[T]], accounts: Callable[[], Sequence[str]], store: BookStore,
                go_on: Callable[[], bool] = lambda: True) -> Callable[[], Book]:
    """A load for :class:`Refresher`: ``read(account)`` for each of ``accounts()``, each answer published in
    ``store`` at once; an account that fails keeps its last good answer with the reason. An account
    :meth:`BookStore.prioritise` names is read next, out of turn. A 429 is raised (the refresher backs off).
    Before each read ``go_on()`` is asked: when it says no (IBKR waits for an order's answer), the round ends."""

    def load() -> Book:
        pending = list(accounts())
        while pending or store.has_urgent():
            if not go_on():
                break
            account = store.take_urgent() or pending.pop(0)
            if account in pending:
                pending.remove(account)
            try:
                items = read(account)
            except RateLimited:
                raise
            except IbkrError as exc:
                old = store.get(account)
                store.put(account, AccountRead(old.items, old.as_of, exc.message))
                continue
            store.put(account, AccountRead(list(items), dt.datetime.now(dt.UTC)))
        return store.book()

    return load


class BookReader:
    """One background reader of live orders or trades for every account: :meth:`book` is what it read so far,
    :meth:`status` how its rounds go (a 429 or a failed round), :meth:`request` reads an account out of turn."""

    def __init__(self, read: Callable[[str], list[T]], accounts: Callable[[], Sequence[str]], interval: float, *,
                 ready: Callable[[], bool], name: str, on_result: Callable[[Book], None] | None = None) -> None:
        self.store = BookStore()
        load = book_loader(read, accounts, self.store, lambda: not self.refresher.stopping and ready())
        # the gap after a round is the interval, or half the round's length: a reader that reads each account
        # in turn at IBKR's 1 call per 5 s leaves half the endpoint's budget to order look-ups
        self.refresher: Refresher[Book] = Refresher(load, interval, ready=ready, headroom=0.5, name=name,
                                                    on_result=on_result)  # each round's book (notifications)

    def book(self) -> Book:
        return self.store.book()

    def status(self) -> RefreshStatus[Book]:
        return self.refresher.status()

    def request(self, account: str | None = None) -> None:
        """Read ``account`` next (even in the middle of a round), or every account again, as soon as pacing
        allows."""
        if account:
            self.store.prioritise(account)
        self.refresher.request(again=True)

    def start(self) -> BookReader:
        self.refresher.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.refresher.stop(timeout)

    def wait(self, after_generation: int, timeout: float) -> bool:
        return self.refresher.wait(after_generation, timeout)
