"""The WhatsApp channel's hooks into notifications (wired in channels/whatsapp/channel.py).

* :meth:`NotifyHooks.on_status`: a status webhook also moves the notification's delivery
  (found by the ``biz_opaque_callback_data`` its send carried, or by its hashed wamid), in
  the webhook's own transaction;
* :meth:`NotifyHooks.on_message`: an inbound quick-reply tap (``sbn:<delivery>:<button>``
  payload) or a reply quoting an alert (its context id) is tied to that delivery, if the
  delivery went to the same customer;
* :meth:`NotifyHooks.before_turn`: an opt-out word is recorded and confirmed once, with no
  turn; a reply tied to an alert runs its turn with ``notification`` and
  ``notification_ref`` slots, so the bot's handlers know what it answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from safebot.notify.sender import StatusInput, record_statuses

if TYPE_CHECKING:  # pragma: no cover
    from safebot.notify.service import InboundAction, Notifier

__all__ = ["NotifyHooks"]


class NotifyHooks:
    def __init__(self, notifier: Notifier, message_ref: Callable[[str], str]) -> None:
        self.notifier = notifier
        self._message_ref = message_ref

    def __repr__(self) -> str:
        return "NotifyHooks()"

    def on_status(self, conn: Any, item: Any, message_ref: str) -> bool:
        return self.on_statuses(conn, [item], [message_ref]) > 0

    def on_statuses(self, conn: Any, items: Sequence[Any], message_refs: Sequence[str]) -> int:
        """A webhook's statuses, in one go (:func:`record_statuses`); returns deliveries updated."""
        return record_statuses(conn, [_status_input(item, ref) for item, ref in zip(items, message_refs, strict=True)])

    def on_message(self, conn: Any, item: Any, message_ref: str, conversation_ref: str) -> int | None:
        context = getattr(item, "context_id", None)
        payload = getattr(item, "payload", None)
        if context is None and payload is None:
            return None
        return self.notifier.link_reply(
            conn, message_ref=message_ref, conversation_ref=conversation_ref, payload=payload,
            context_ref=None if context is None else self._message_ref(context.reveal()),
        )

    def before_turn(self, *, conversation_ref: str, message_ref: str | None, text: str,
                    form_open: Callable[[], bool]) -> InboundAction:
        from safebot.notify.consent import classify_keyword

        needs_form = classify_keyword(text) == "stop_outside_forms"
        return self.notifier.before_turn(conversation_ref=conversation_ref, message_ref=message_ref, text=text,
                                         form_open=form_open() if needs_form else False)


def _status_input(item: Any, message_ref: str) -> StatusInput:
    details = getattr(item, "error_details", ()) or ()
    errors = tuple((code, title, details[i] if i < len(details) else None) for i, (code, title) in enumerate(item.errors))
    return StatusInput(message_ref, item.status, getattr(item, "callback_data", None), item.timestamp,
                       getattr(item, "pricing_category", None), errors)
