"""Consent, lawful bases, the suppression list and opt-out words.

Consent is checked when a delivery is *sent*, in the same statement that claims it for
sending (:func:`sendable`), so an opt-out committed a moment before is honoured by the very
next delivery, even one queued long ago. The rules:

* a suppression matching the contact (this address) or the customer (every channel), for
  this channel or ``*``, for this purpose or ``*``, stops the delivery (``suppressed``);
* a template whose lawful basis is ``consent`` (every MARKETING template) also needs a
  granted, unrevoked consent record for the contact, channel and purpose;
* other bases (a fraud alert's legitimate interests, a disruption notice's legal obligation)
  need no record of their own but still honour every suppression.

An inbound STOP (or UNSUBSCRIBE, REVOKE, OPT OUT, CANCEL/END/QUIT outside a form, or a plain
"stop sending me these") revokes consent and suppresses the purpose of the alert it answers,
or every purpose on that channel when it answers none; START lifts what the keywords set.
Both are recorded with the inbound message's keyed hash as evidence.

>>> classify_keyword("  Stop! "), classify_keyword("stop sending me these"), classify_keyword("hi")
('stop', 'stop', None)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from sqlalchemy import Connection, and_, exists, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from safebot.stores._base import now
from safebot.stores._notify_schema import ConsentRecordRow, DeliveryRow, SuppressionRow

__all__ = [
    "ANY",
    "ConsentChange",
    "classify_keyword",
    "grant",
    "lift_opt_out",
    "opt_out",
    "revoke",
    "sendable",
    "suppress",
]

ANY = "*"
Keyword = Literal["stop", "start", "stop_outside_forms"]
_NAME = re.compile(r"[a-z*][a-z0-9_*]{0,63}")
_METHOD = re.compile(r"[a-z][a-z0-9_]{0,31}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


@lru_cache(maxsize=1)
def _keywords() -> dict[str, Any]:
    text = resources.files("safebot.notify").joinpath("data/keywords.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return {
        "stop": frozenset(data["stop"]),
        "stop_outside_forms": frozenset(data["stop_outside_forms"]),
        "start": frozenset(data["start"]),
        "phrases": [re.compile(p) for p in data["stop_phrases"]],
    }


def _normalise(text: str) -> str:
    """Lower case, look-alikes folded ('ЅТОР' in Cyrillic letters), accents kept for the
    word lists ('arrêt' and 'arret' are both listed), punctuation, emoji and underscores
    as spaces, a word spelt out letter by letter ('S T O P', 'S.T.O.P.') joined."""
    from safebot.redaction.normalise.homoglyphs import table

    text = unicodedata.normalize("NFKC", text).replace("\U0001f6d1", " stop ")  # 🛑
    looks = table()
    if not text.isascii() and any(c in looks for c in text):
        folded = "".join(looks.get(c, c) for c in text)
        # Only a message that becomes all Latin is folded: a real Russian word stays as typed.
        if all(c.isascii() or not c.isalpha() for c in folded):
            text = folded
    text = text.casefold().replace("’", "'")
    text = re.sub(r"[^\w' -]+|_", " ", text)
    words = re.sub(r"\s+", " ", text).strip()
    if len(words) >= 5 and all(len(w) == 1 for w in words.split(" ")):
        words = words.replace(" ", "")
    return words


def classify_keyword(text: str) -> Keyword | None:
    """``stop``, ``start``, ``stop_outside_forms`` (CANCEL, END, QUIT) or None."""
    if not isinstance(text, str) or len(text) > 120:
        return None
    words = _normalise(text)
    kw = _keywords()
    if words in kw["stop"]:
        return "stop"
    if words in kw["start"]:
        return "start"
    if words in kw["stop_outside_forms"]:
        return "stop_outside_forms"
    if any(p.fullmatch(words) for p in kw["phrases"]):
        return "stop"
    return None


def _check(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ValueError(f"{what} must be a short lower-case name")  # never the value
    return value


# -- records ------------------------------------------------------------------------------------
def grant(
    conn: Connection, contact_ref: str, channel: str, purpose: str, *, lawful_basis: str = "consent",
    method: str, shown_version: str | None = None, shown_text: str | None = None, source_ref: str | None = None,
) -> int:
    """Record a grant (a new row; earlier ones stay as evidence). Returns its id."""
    from safebot.notify.templates import LAWFUL_BASES

    if lawful_basis not in LAWFUL_BASES:
        raise ValueError("unknown lawful basis")
    if shown_version is not None:
        _check(shown_version, _VERSION, "shown_version")
    result = conn.execute(insert(ConsentRecordRow).values(
        contact_ref=contact_ref, channel=_check(channel, _NAME, "channel"), purpose=_check(purpose, _NAME, "purpose"),
        lawful_basis=lawful_basis, method=_check(method, _METHOD, "method"), shown_version=shown_version,
        shown_text=shown_text, source_ref=source_ref, captured_at=now(),
    ))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def revoke(
    conn: Connection, contact_ref: str, channel: str, purposes: Sequence[str] | None, *, how: str,
    source_ref: str | None = None,
) -> list[str]:
    """Withdraw the contact's unrevoked consents on ``channel`` (for ``purposes``, or all).
    Returns the purposes withdrawn."""
    c = ConsentRecordRow
    cond = [c.contact_ref == contact_ref, c.channel == channel, c.revoked_at.is_(None)]
    if purposes is not None:
        cond.append(c.purpose.in_(list(purposes)))
    rows = conn.execute(update(c).where(*cond).values(
        revoked_at=now(), revoked_how=_check(how, _METHOD, "how"), revoked_source_ref=source_ref,
    ).returning(c.purpose)).scalars().all()
    return sorted(set(rows))


def suppress(
    conn: Connection, subject_ref: str, channel: str, purpose: str, *, reason: str, source_ref: str | None = None,
) -> bool:
    """Add a suppression unless the same one is already active; True if one was added."""
    s = SuppressionRow
    active = conn.execute(select(s.id).where(
        s.subject_ref == subject_ref, s.channel == channel, s.purpose == purpose, s.lifted_at.is_(None),
    )).first()
    if active is not None:
        return False
    conn.execute(insert(s).values(
        subject_ref=subject_ref, channel=_check(channel, _NAME, "channel"), purpose=_check(purpose, _NAME, "purpose"),
        reason=_check(reason, _METHOD, "reason"), source_ref=source_ref, created_at=now(),
    ))
    return True


@dataclass(frozen=True)
class ConsentChange:
    """What an inbound keyword changed (purposes, or ``*``); empty if nothing changed."""

    keyword: Literal["stop", "start"]
    purposes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.purposes)


def opt_out(conn: Connection, contact_ref: str, channel: str, purpose: str | None, *, source_ref: str | None) -> ConsentChange:
    """STOP: suppress ``purpose`` (or everything on the channel) and withdraw the consents."""
    target = purpose or ANY
    added = suppress(conn, contact_ref, channel, target, reason="opt_out", source_ref=source_ref)
    revoked = revoke(conn, contact_ref, channel, None if target == ANY else [target], how="inbound_keyword",
                     source_ref=source_ref)
    return ConsentChange("stop", (target,) if added or revoked else ())


def lift_opt_out(conn: Connection, contact_ref: str, channel: str, *, source_ref: str | None) -> ConsentChange:
    """START: lift the contact's keyword opt-outs on ``channel`` and grant again what they withdrew."""
    s, c = SuppressionRow, ConsentRecordRow
    lifted = conn.execute(update(s).where(
        s.subject_ref == contact_ref, s.channel == channel, s.reason == "opt_out", s.lifted_at.is_(None),
    ).values(lifted_at=now()).returning(s.purpose)).scalars().all()
    withdrawn = conn.execute(select(c.purpose, c.lawful_basis).where(
        c.contact_ref == contact_ref, c.channel == channel, c.revoked_how == "inbound_keyword",
    ).distinct()).all()
    for purpose, basis in withdrawn:
        live = conn.execute(select(c.id).where(
            c.contact_ref == contact_ref, c.channel == channel, c.purpose == purpose, c.revoked_at.is_(None),
        )).first()
        if live is None:
            grant(conn, contact_ref, channel, purpose, lawful_basis=basis, method="inbound_keyword",
                  shown_version="keyword-start", source_ref=source_ref)
    return ConsentChange("start", tuple(sorted(set(lifted))))


# -- the send-time check ------------------------------------------------------------------------
def _suppressed(d: type[DeliveryRow], subjects: Iterable[Any]) -> ColumnElement[bool]:
    s = SuppressionRow
    return exists().where(
        or_(*[s.subject_ref == x for x in subjects]),
        s.lifted_at.is_(None),
        or_(s.channel == d.channel, s.channel == ANY),
        or_(s.purpose == d.purpose, s.purpose == ANY),
    )


def sendable(d: type[DeliveryRow] = DeliveryRow) -> ColumnElement[bool]:
    """A SQL condition on a delivery row: no suppression applies and, for lawful basis
    ``consent``, a live consent exists. Used inside the claim that moves it to ``sending``."""
    c = ConsentRecordRow
    has_consent = exists().where(
        c.contact_ref == d.contact_ref, c.channel == d.channel, c.purpose == d.purpose,
        c.lawful_basis == "consent", c.revoked_at.is_(None),
    )
    not_suppressed = ~_suppressed(d, [d.contact_ref, d.customer_ref])
    return and_(not_suppressed, or_(d.lawful_basis != "consent", has_consent))


def live_consent_id(conn: Connection, contact_ref: str, channel: str, purpose: str) -> int | None:
    """The newest live consent record for (contact, channel, purpose), for the evidence."""
    c = ConsentRecordRow
    return conn.execute(select(c.id).where(
        c.contact_ref == contact_ref, c.channel == channel, c.purpose == purpose, c.revoked_at.is_(None),
    ).order_by(c.id.desc()).limit(1)).scalar_one_or_none()
