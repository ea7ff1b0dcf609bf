"""A turn's replies (``customer`` rendering) as Cloud API message objects.

A reply with 1-3 buttons whose titles fit (20 characters) becomes interactive reply buttons;
up to 10 options that fit a list row (24 characters) become a list; anything else is text
with the options written out. A button's id is its payload (an intent such as ``/affirm``, or
the redacted payload the engine left) or else its title, so a tap comes back as what the
engine expects. Text longer than WhatsApp's 4096 characters is split.

>>> to_messages(("Hello!",), ())
[{'type': 'text', 'text': {'preview_url': False, 'body': 'Hello!'}}]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["DUPLICATE_MARK", "MAX_TEXT", "to_messages"]

MAX_TEXT = 4096
MAX_BODY = 1024  # interactive body
MAX_BUTTONS, MAX_BUTTON_TITLE = 3, 20
MAX_ROWS, MAX_ROW_TITLE = 10, 24
MAX_ID = 256
LIST_BUTTON = "Choose"
DUPLICATE_MARK = "#"


def to_messages(replies: Sequence[str], buttons: Sequence[Sequence[Any]] = ()) -> list[dict[str, Any]]:
    """Message objects for ``replies`` (``buttons[i]`` are reply i's buttons, if any)."""
    out: list[dict[str, Any]] = []
    for i, text in enumerate(replies):
        options = _options(buttons[i] if i < len(buttons) else ())
        out += _one(text, options)
    return out


def _options(buttons: Sequence[Any]) -> list[tuple[str, str]]:
    """(id, title) per button; ids are unique as WhatsApp requires: a repeated id gets
    ``#<n>`` (which :func:`~safebot.channels.whatsapp.payloads.run_text` drops again)."""
    seen: set[str] = set()
    options = []
    for b in buttons:
        title = str(getattr(b, "title", b))
        payload = getattr(b, "payload", None)
        ident = (payload or title)[: MAX_ID - 4]
        unique, n = ident, 1
        while unique in seen:
            n += 1
            unique = f"{ident}{DUPLICATE_MARK}{n}"
        seen.add(unique)
        options.append((unique, title))
    return options


def _one(text: str, options: list[tuple[str, str]]) -> list[dict[str, Any]]:
    if options and len(text) <= MAX_BODY and text.strip():
        if len(options) <= MAX_BUTTONS and all(len(t) <= MAX_BUTTON_TITLE for _, t in options):
            return [{"type": "interactive", "interactive": {
                "type": "button", "body": {"text": text},
                "action": {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in options]},
            }}]
        if len(options) <= MAX_ROWS and all(len(t) <= MAX_ROW_TITLE for _, t in options):
            return [{"type": "interactive", "interactive": {
                "type": "list", "body": {"text": text},
                "action": {"button": LIST_BUTTON, "sections": [
                    {"title": "Options", "rows": [{"id": i, "title": t} for i, t in options]},
                ]},
            }}]
    if options:
        text = text + "\n" + "\n".join(f"• {t}" for _, t in options)
    return [{"type": "text", "text": {"preview_url": False, "body": part}} for part in _split(text)]


def _split(text: str) -> list[str]:
    if len(text) <= MAX_TEXT:
        return [text]
    parts = []
    while len(text) > MAX_TEXT:
        cut = text.rfind("\n", 0, MAX_TEXT)
        if cut <= 0:
            cut = text.rfind(" ", 0, MAX_TEXT)
        if cut <= 0:
            cut = MAX_TEXT
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n ")
    if text:
        parts.append(text)
    return parts
