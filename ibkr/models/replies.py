"""The answers to placing, confirming, modifying and cancelling orders (docs/cpapi.md 3.1-3.2, 3.5)."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, model_validator

from ibkr.models._base import Bool, IbkrModel, Int, Str


class OrderAccepted(IbkrModel):
    """An order IBKR accepted: ``{"order_id": "1370093239", "order_status": "PreSubmitted"}``.

    ``found_after_timeout`` is True when IBKR's answer to the placement was lost (no answer in time, a dropped
    connection, an error after the order went in) and the order was found afterwards among the live orders by its
    ``coid``; ``lost_answer`` says what became of the answer.
    """

    order_id: str = Field(validation_alias=AliasChoices("order_id", "orderId"))
    order_status: Str = None
    encrypt_message: Str = None
    local_order_id: Str = None
    coid: Str = None
    found_after_timeout: bool = False
    lost_answer: Str = None

    @model_validator(mode="before")
    @classmethod
    def _id_as_text(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("order_id", "orderId"):
                if isinstance(data.get(key), int | float):
                    data = {**data, key: str(int(data[key]))}
        return data


class OrderQuestion(IbkrModel):
    """A reply-required element: ``{"id": <replyId>, "message": [...], "messageIds": ["o354"]}``."""

    reply_id: str = Field(alias="id")
    message: list[str] = Field(default_factory=list)
    message_ids: list[str] = Field(default_factory=list, alias="messageIds")
    is_suppressed: Bool = Field(None, alias="isSuppressed")


class OrderPrompt(IbkrModel):
    """An advanced reject prompt (``"prompt": true``), answered with one of ``options`` via /iserver/notification."""

    message_id: Str = Field(None, alias="messageId")
    order_id: Int = Field(None, alias="orderId")
    prompt: Bool = None
    req_id: Str = Field(None, alias="reqId")
    text: Str = None
    options: list[str] = Field(default_factory=list)
    dismissable: list[Any] = Field(default_factory=list)
    type: Str = None


class OrderReply(IbkrModel):
    """Any answer of place / reply / modify: accepted orders, questions, a prompt, or an error.

    IBKR's four shapes (docs/cpapi.md 3.1) are a list of accepted orders, a list of questions, an advanced reject
    prompt object, or ``{"error": "..."}``; exactly one of the attributes below is filled.
    """

    accepted: list[OrderAccepted] = Field(default_factory=list)
    questions: list[OrderQuestion] = Field(default_factory=list)
    prompt: OrderPrompt | None = None
    error: Str = None

    @model_validator(mode="before")
    @classmethod
    def _classify(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) <= {"accepted", "questions", "prompt", "error"} and data:
            return data
        items = data if isinstance(data, list) else [data]
        out: dict[str, Any] = {"accepted": [], "questions": []}
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"unexpected order reply element: {item!r}")
            if "error" in item and ("order_id" not in item):
                out["error"] = item["error"] or "IBKR refused the order without saying why"
            elif item.get("prompt") or "options" in item:
                out["prompt"] = item
            elif "id" in item and ("message" in item or "messageIds" in item):
                out["questions"].append(item)
            elif "order_id" in item or "orderId" in item:
                out["accepted"].append(item)
            else:
                raise ValueError(f"unexpected order reply element: {sorted(item)}")
        return out


class CancelAck(IbkrModel):
    """``DELETE /iserver/account/{id}/order/{orderId}``: the cancel request was submitted (check the status)."""

    msg: Str = None
    order_id: Str = Field(None, validation_alias=AliasChoices("order_id", "orderId"))
    conid: Int = None
    account: Str = None
    order_status: Str = None
    encrypt_message: Str = None
    error: Str = None


class QuestionsSuppressed(IbkrModel):
    """``POST /iserver/questions/suppress``: ``{"status": "submitted"}``."""

    status: Str = None


class Question(IbkrModel):
    """One question of a pending order: IBKR's message id (e.g. ``"o354"``) and its text."""

    message_id: str
    text: str


class PendingConfirmation(IbkrModel):
    """An order waiting for answers. Nothing is placed until :meth:`ClientPortalClient.confirm` says yes.

    ``reply_id`` answers the questions (``POST /iserver/reply/{reply_id}``); a ``prompt`` (advanced reject)
    is answered by choosing one of its ``options``.
    """

    account_id: str
    coid: Str = None
    reply_id: Str = None
    questions: list[Question] = Field(default_factory=list)
    prompt: OrderPrompt | None = None
    round: int = 1

    @property
    def message_ids(self) -> frozenset[str]:
        return frozenset(q.message_id for q in self.questions)


class OrderDeclined(IbkrModel):
    """The caller said no to a pending order's questions; IBKR did not place it."""

    reply_id: Str = None
    coid: Str = None
    message: Str = None

