"""One turn's redaction: everything a conversation needs from the boundary, in one object.

A :class:`RedactionSession` is made per turn by ``redactor.session(conversation_ref, memory,
fingerprint=...)``. It owns, for that turn:

* placeholder numbering for the whole conversation (:class:`PlaceholderMemory`, stored with
  the conversation's state: keyed fingerprints only, never values), so a value keeps its
  placeholder from turn to turn;
* the expected-entity hint: a bare answer to the bot's own question ("What's your passport
  number?" -> "533380006") is redacted as the asked-for type;
* identifiers split over two messages ("my card is 4539 1488" then "and the rest is 0343
  6467"): an unfinished identifier leaves a hint for the next message;
* the vault hand-off (:attr:`vault_entries`: values the policy encrypts, for the store);
* slot cleaning (:meth:`clean_slot`: every slot value of any type is checked);
* outbound rendering of bot replies (:meth:`outbound`), including values the customer gave
  earlier in the conversation wherever they reappear, NER or not;
* the hand-off view for a human agent (:meth:`agent_view`);
* its audit records (:attr:`audit_records`): every finding per destination rendered, every
  fail-closed block, every reveal.

Only this package mints :class:`~safebot.redaction.types.RedactedText`; everything after the
session sees renderings, never raw text.

>>> session = redactor.session("c-1f2e", PlaceholderMemory())           # doctest: +SKIP
>>> inbound = session.inbound(redactor.analyze("my card is 4111 1111 1111 1111"))  # doctest: +SKIP
>>> inbound.text("transcript").text                                       # doctest: +SKIP
'my card is <CREDIT_CARD_1>'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safebot.redaction.audit import AuditRecord
from safebot.redaction.policy import DESTINATIONS, Destination
from safebot.redaction.types import RedactedText, _mint, canonical_value
from safebot.sensitive import Sensitive

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.detect.detector import NearMiss
    from safebot.redaction.detector import Detection
    from safebot.redaction.redactor import Analysis, Redactor

__all__ = ["Fingerprinter", "Inbound", "Outbound", "PlaceholderMemory", "RedactionSession", "VaultEntry"]

#: ``(entity_type, canonical value) -> hex`` keyed hash; the store binds it to the
#: conversation's data key, so fingerprints die with the key (crypto-shredding)
Fingerprinter = Callable[[str, Sensitive[str]], str]

#: entity types a bot reply keeps even when the customer typed the same words earlier: a
#: city or a name the bot itself looked up is fine to say; identifiers are never repeated
_ANY_TYPE = "*"

#: cue phrases put before a bare answer when the bot asked for one of these types, so the
#: recognizers see the answer the way they would after the customer's own cue word
ANSWER_CUES: Mapping[str, str] = {
    "CREDIT_CARD": "card number",
    "IBAN_CODE": "iban",
    "ABA_ROUTING_NUMBER": "routing number",
    "BANK_ACCOUNT": "account number",
    "US_SSN": "ssn",
    "US_ITIN": "itin",
    "SWIFT_CODE": "swift code",
    "CVV": "cvv",
    "PIN": "pin",
    "DATE_OF_BIRTH": "date of birth",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone number",
    "ADDRESS": "address",
    "BOOKING_REFERENCE": "booking reference",
    "TICKET_NUMBER": "ticket number",
    "PASSPORT": "passport number",
    "FREQUENT_FLYER": "frequent flyer number",
    "KNOWN_TRAVELER_NUMBER": "known traveler number",
    "REDRESS_NUMBER": "redress number",
}

#: identifier types whose value has a fixed minimum length; shorter ones after a cue are an
#: unfinished identifier (the rest may come in the next message)
_FULL_LENGTH: Mapping[str, int] = {"CREDIT_CARD": 12, "IBAN_CODE": 15, "BANK_ACCOUNT": 6, "US_SSN": 9}

# Words around a bare answer that are not part of it: "it's X7K9QP", "my last name is Brown".
_ANSWER_FILLER = frozenset(
    ["it", "it's", "its", "is", "my", "the", "a", "an", "name", "last", "surname", "family", "first", "number", "no", "ref", "reference", "booking", "code", "passport", "was", "i", "i'm", "im", "am", "yes", "sure", "ok", "okay", "here", "please", "thanks", "and", "of", "for", "rest", "then"]
)
_ANSWER_TOKEN = re.compile(r"[^\W_][\w'’\-]*")
#: cue words for identifiers whose first part a customer may send alone
_PARTIAL_CUES: Mapping[str, str] = {"card": "CREDIT_CARD", "iban": "IBAN_CODE", "account": "BANK_ACCOUNT", "acct": "BANK_ACCOUNT"}
_PARTIAL_AFTER_CUE = re.compile(
    r"\b(?P<cue>card|iban|account|acct)(?:\s+(?:number|no\.?|#))?\s*(?:is|:|=)?\s*(?P<digits>\d(?:[\d \t_.\-/]{0,40}\d)?)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_][\w'’\-]*|\d+")
_INTENT_PAYLOAD = re.compile(r"/[A-Za-z_][\w.\-]{0,99}(?:\{[^{}]{0,500}\})?")
# Flight numbers ('NW214', 'U2123') are what a customer asks about, not what they answer with.
_FLIGHT = re.compile(r"[a-z]{2}\d{1,4}|[a-z]\d\d{1,4}|\d[a-z]\d{1,4}", re.IGNORECASE)


def is_flight_number(word: str) -> bool:
    return _FLIGHT.fullmatch(word) is not None


@functools.lru_cache(maxsize=1)
def _request_words() -> frozenset[str]:
    """Common English words that are not surnames: a message made of them is a request."""
    from safebot.redaction.recognizers.vocabulary import census_last_names, english_words

    return english_words(5000) - census_last_names()


@dataclass
class PlaceholderMemory:
    """What a conversation remembers about the values it has seen: keyed fingerprints only.

    ``tokens``: fingerprint of (type, value) -> placeholder; ``known``: type-agnostic
    fingerprint -> placeholder, to find a value again in a bot reply; ``counts``: the last
    number used per type; ``pending``: the type of an identifier the last message left
    unfinished.
    """

    tokens: dict[str, str] = field(default_factory=dict)
    known: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    pending: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"tokens": dict(self.tokens), "known": dict(self.known), "counts": dict(self.counts), "pending": self.pending}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PlaceholderMemory:
        if not data:
            return cls()
        return cls(
            dict(data.get("tokens") or {}), dict(data.get("known") or {}), dict(data.get("counts") or {}),
            data.get("pending"),
        )

    def copy(self) -> PlaceholderMemory:
        return PlaceholderMemory(dict(self.tokens), dict(self.known), dict(self.counts), self.pending)


@dataclass(frozen=True)
class VaultEntry:
    """A value the policy keeps encrypted for this conversation (the store encrypts it)."""

    token: str
    entity_type: str
    value: Sensitive[str]
    fingerprint: str

    def __repr__(self) -> str:
        return f"VaultEntry({self.token!r})"


class _Rendered:
    """A text of this turn with its detections numbered, rendered lazily per destination."""

    def __init__(self, session: RedactionSession, analysis: Analysis, numbers: Sequence[int]) -> None:
        self._session = session
        self._analysis = analysis
        self._numbers = tuple(numbers)
        self._cache: dict[Destination, RedactedText] = {}

    @property
    def blocked(self) -> bool:
        return self._analysis.blocked

    @property
    def reason(self) -> str | None:
        return self._analysis.reason

    @property
    def entity_types(self) -> frozenset[str]:
        return self._analysis.entity_types

    def text(self, destination: Destination) -> RedactedText:
        """This text as ``destination`` may see it (audited once per finding and destination)."""
        found = self._cache.get(destination)
        if found is None:
            s = self._session
            found = s._redactor.render(
                self._analysis, destination, numbers=self._numbers, audit=s._records.append,
                conversation_id=s.conversation_ref,
            )
            self._cache[destination] = found
        return found


class Inbound(_Rendered):
    """One customer message, redacted. ``text(destination)`` for each rendering."""


class Outbound(_Rendered):
    """One bot reply, redacted. ``text("customer")`` is what the customer is sent."""


class RedactionSession:
    """Redaction for one turn of one conversation. Not thread-safe; one per turn."""

    def __init__(
        self,
        redactor: Redactor,
        conversation_ref: str,
        memory: PlaceholderMemory,
        *,
        fingerprint: Fingerprinter,
        expected: frozenset[str] = frozenset(),
        companions: frozenset[str] = frozenset(),
    ) -> None:
        self._redactor = redactor
        self.conversation_ref = conversation_ref
        self._memory = memory.copy()
        self._fingerprint = fingerprint
        self._expected = frozenset(e for e in expected if e in redactor.policy.entities)
        #: other fields of the same form, expected only beside an answer to the question itself
        #: ('B3R8TW, Smith-Jones' to the booking-reference question; 'cancel' stays a word)
        self._companions = frozenset(e for e in companions if e in redactor.policy.entities) - self._expected
        self._values: dict[str, Sensitive[str]] = {}
        self._vault: dict[str, VaultEntry] = {}
        self._records: list[AuditRecord] = []

    def __repr__(self) -> str:
        return f"RedactionSession({self.conversation_ref!r}, {len(self._values)} values)"

    # -- what the turn hands on -------------------------------------------------------------------
    @property
    def memory(self) -> PlaceholderMemory:
        """The conversation's placeholder memory after this turn (store it with the state)."""
        return self._memory

    @property
    def vault_entries(self) -> list[VaultEntry]:
        return list(self._vault.values())

    @property
    def audit_records(self) -> list[AuditRecord]:
        return list(self._records)

    @property
    def policy_hash(self) -> str:
        return self._redactor.policy.hash

    def lookup(self, placeholder: str) -> Sensitive[str] | None:
        """The value behind a placeholder seen in this turn (``ctx.reveal``; audited by the caller)."""
        return self._values.get(placeholder.strip())

    def audit(self, record: AuditRecord) -> None:
        """Add a record (a reveal, a denied reveal) to this turn's audit records."""
        self._records.append(record)

    # -- inbound ------------------------------------------------------------------------------
    def inbound(self, analysis: Analysis) -> Inbound:
        """The customer's message: the expected-type hint applied, numbered for the conversation,
        vaulted values handed over. A blocked analysis renders as blocked everywhere."""
        if analysis.blocked:
            self._records.append(
                AuditRecord("detection_failed", self.policy_hash, conversation_id=self.conversation_ref,
                            reason=analysis.reason)
            )
            return Inbound(self, analysis, ())
        near = analysis.near_misses
        expected = set(self._expected)
        if self._memory.pending:
            expected.add(self._memory.pending)
        analysis = self._with_expected(analysis, frozenset(expected))
        if self._companions and analysis.entity_types & self._expected:
            analysis = self._with_expected(analysis, self._companions)
        analysis = self._with_partials(analysis)
        self._memory.pending = self._unfinished(analysis)
        self._near_misses(near, analysis)
        return Inbound(self, analysis, self._number(analysis))

    def _near_misses(self, near: Sequence[NearMiss], analysis: Analysis) -> None:
        """One ``near_miss`` audit record per span of the customer's message scored just below
        its threshold and not redacted after all: its type, recognizer and score only."""
        for n in near:
            if any(n.start < d.end and d.start < n.end for d in analysis._detections):
                continue
            self._records.append(
                AuditRecord("near_miss", self.policy_hash, entity_type=n.entity_type, recognizer=n.recognizer,
                            score=round(n.score, 3), conversation_id=self.conversation_ref)
            )

    def _with_expected(self, analysis: Analysis, expected: frozenset[str]) -> Analysis:
        """Treat a bare answer to a question about a PII field as that entity.

        Detection alone cannot know that '533380006' is a passport number; the question the
        bot asked does. First the answer is detected again after the type's cue phrase, as the
        customer might have typed it ('passport number: 533380006'); if that finds nothing and
        the message is nothing but an answer (filler words aside), the answer becomes one
        detection of that type: identifier-like tokens (with a digit, not a flight number) for
        identifiers, one to three words that are not ordinary request words for a PERSON.
        Anything else ('what's the status of NW214') is left to the NLU as a new request.
        """
        from safebot.redaction.redactor import _analysis

        missing = sorted(expected - analysis.entity_types)
        if not missing:
            return analysis
        raw = analysis._raw.reveal()
        found = list(analysis._detections)
        for entity in missing:
            extra = self._cued(raw, entity, found) or self._bare(raw, entity, found)
            found.extend(extra)
        if len(found) == len(analysis._detections):
            return analysis
        return _analysis(raw, found)

    def _cued(self, raw: str, entity: str, taken: Sequence[Detection]) -> list[Detection]:
        from safebot.redaction.detector import Detection

        cue = ANSWER_CUES.get(entity)
        if cue is None:
            return []
        prefix = f"{cue}: "
        try:
            detections = self._redactor.detector.detect(prefix + raw)
        except Exception:  # noqa: BLE001 - the message itself was analysed; this is a hint only
            return []
        out = []
        for d in detections:
            start, end = d.start - len(prefix), d.end - len(prefix)
            if d.entity_type != entity or start < 0 or _overlaps(start, end, taken):
                continue
            out.append(Detection(entity, start, end, max(d.score, 0.8), "session.expected_answer"))
        return out

    def _bare(self, raw: str, entity: str, taken: Sequence[Detection]) -> list[Detection]:
        from safebot.redaction.detector import Detection

        tokens = [
            m for m in _ANSWER_TOKEN.finditer(raw)
            if m.group(0).lower() not in _ANSWER_FILLER and not _overlaps(m.start(), m.end(), taken)
        ]
        if not tokens or len(tokens) > 8:
            return []
        words = [m.group(0) for m in tokens]
        start, end = tokens[0].start(), tokens[-1].end()
        if entity == "PERSON":
            if (len(words) <= 3 and all(w.replace("-", "").replace("'", "").isalpha() for w in words)
                    and not any(w.lower() in _request_words() for w in words)):
                return [Detection("PERSON", start, end, 0.8, "session.expected_answer")]
            return []
        alnum = "".join(words)
        has_digit = any(c.isdigit() for c in alnum)
        # 'LD3 GKG', 'T M 4 9 8 L': letters and digits typed apart; nothing but the answer
        if (has_digit and len(alnum) >= 3 and not any(is_flight_number(w) for w in words)
                and not any(w.lower() in _request_words() and not any(c.isdigit() for c in w) and len(w) > 1
                            for w in words)):
            return [Detection(entity, start, end, 0.8, "session.expected_answer")]
        return []

    def _with_partials(self, analysis: Analysis) -> Analysis:
        """The start of an identifier after its cue ('my card is 4539 1488 ...'): too short to be
        one, but the rest may follow in the next message; redacted now, the rest then."""
        from safebot.redaction.detector import Detection
        from safebot.redaction.redactor import _analysis

        raw = analysis._raw.reveal()
        found = list(analysis._detections)
        added = False
        for m in _PARTIAL_AFTER_CUE.finditer(raw):
            entity = _PARTIAL_CUES[m.group("cue").lower()]
            if entity not in self._redactor.policy.entities:
                continue
            start, end = m.span("digits")
            digits = sum(c.isdigit() for c in raw[start:end])
            if digits < 4 or _overlaps(start, end, found):
                continue
            found.append(Detection(entity, start, end, 0.8, "session.partial_identifier"))
            added = True
        return _analysis(raw, found) if added else analysis

    def _unfinished(self, analysis: Analysis) -> str | None:
        """The type of an identifier this message left unfinished (fewer characters than any
        valid value), so the next message's digits are read as its rest."""
        raw = analysis._raw.reveal()
        for d in analysis._detections:
            need = _FULL_LENGTH.get(d.entity_type)
            if need is not None and len(canonical_value(raw[d.start : d.end])) < need:
                return d.entity_type
        return None

    def _number(self, analysis: Analysis) -> list[int]:
        """Conversation-wide numbers; remembers each value's fingerprints, vaults what the policy
        encrypts, keeps values for ``lookup``."""
        raw = analysis._raw.reveal()
        policy = self._redactor.policy
        numbers = []
        for d in analysis._detections:
            value = raw[d.start : d.end]
            canon = Sensitive(canonical_value(value))
            fp = self._fingerprint(d.entity_type, canon)
            token = self._memory.tokens.get(fp)
            if token is None:
                n = self._memory.counts.get(d.entity_type, 0) + 1
                self._memory.counts[d.entity_type] = n
                token = f"<{d.entity_type}_{n}>"
                self._memory.tokens[fp] = token
            if len(canon.reveal()) >= 4:
                self._memory.known.setdefault(self._fingerprint(_ANY_TYPE, canon), token)
            if token not in self._vault and any(
                policy.treatment(d.entity_type, dest).action == "encrypt" for dest in DESTINATIONS
            ):
                self._vault[token] = VaultEntry(token, d.entity_type, Sensitive(value), fp)
            self._values[token] = Sensitive(value)
            numbers.append(int(token.rsplit("_", 1)[1][:-1]))
        return numbers

    # -- outbound -----------------------------------------------------------------------------
    def outbound(self, text: str) -> Outbound:
        """A bot reply, redacted for every destination.

        Every recognizer scans it, but spaCy's NER guesses are not applied to the bot's own
        words (they turn merchants into names); instead any value the customer gave earlier in
        this conversation is found again by its fingerprint ('Thanks Agnieszka Wisniewska').
        If the scan fails, the reply is blocked: the caller sends its generic error reply.
        """
        from safebot.redaction.redactor import _analysis

        analysis = self._redactor.analyze(text)
        if analysis.blocked:
            self._records.append(
                AuditRecord("detection_failed", self.policy_hash, conversation_id=self.conversation_ref,
                            reason=analysis.reason)
            )
            return Outbound(self, analysis, ())
        kept = [d for d in analysis._detections if not d.recognizer.startswith("spacy.ner")]
        kept += self._known_values(text, kept)
        if len(kept) != len(analysis._detections) or any(d.recognizer == "session.known_value" for d in kept):
            analysis = _analysis(text, kept)
        return Outbound(self, analysis, self._number(analysis))

    def _known_values(self, text: str, taken: Sequence[Detection]) -> list[Detection]:
        from safebot.redaction.detector import Detection

        known = self._memory.known
        if not known:
            return []
        words = list(_WORD.finditer(text))
        out: list[Detection] = []
        i = 0
        while i < len(words):
            hit = None
            for n in range(min(4, len(words) - i), 0, -1):
                start, end = words[i].start(), words[i + n - 1].end()
                if _overlaps(start, end, taken) or _overlaps(start, end, out):
                    continue
                canon = canonical_value(text[start:end])
                if len(canon) < 4:
                    continue
                token = known.get(self._fingerprint(_ANY_TYPE, Sensitive(canon)))
                if token is not None:
                    entity = _token_type(token)
                    hit = (Detection(entity, start, end, 1.0, "session.known_value"), n)
                    break
            if hit is None:
                i += 1
                continue
            out.append(hit[0])
            i += hit[1]
        return out

    def _prefer_known_types(self, text: str, found: list[Detection]) -> list[Detection]:
        """A value this conversation already holds keeps the type it was found as: an SSN typed
        ``123-45-6789`` in the message and sent bare (``123456789``) in a slot is ``<US_SSN_1>``
        in both, not a bare number read as a bank account."""
        from safebot.redaction.detector import Detection

        known = self._memory.known
        if not known:
            return found
        out = []
        for d in found:
            token = known.get(self._fingerprint(_ANY_TYPE, Sensitive(canonical_value(text[d.start:d.end]))))
            entity = _token_type(token) if token is not None else d.entity_type
            out.append(d if entity == d.entity_type else Detection(entity, d.start, d.end, d.score, "session.known_value"))
        return out

    def button_payload(self, payload: str) -> str:
        """A button payload safe to hand the platform: an intent payload (``/freeze_card`` or
        ``/choose{"card": "credit"}``) passes when nothing in it is PII; anything else is sent
        as its customer rendering."""
        m = _INTENT_PAYLOAD.fullmatch(payload)
        reply = self.outbound(payload)
        if m is not None and not reply.blocked and not reply.entity_types:
            return payload
        return reply.text("customer").text

    # -- slots --------------------------------------------------------------------------------
    def clean_slot(self, name: str, value: object) -> str | int | float | bool | None:
        """A slot value safe to store: placeholders and booleans as they are; strings and numbers
        analysed (the slot name as detection context) and replaced by their transcript rendering
        if anything is found. Raises TypeError for any other type."""
        from safebot.redaction.types import Placeholder

        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            if not value.strip() or Placeholder.is_only_placeholders(value):
                return value
            return self._clean_text(name, value, value)
        if isinstance(value, (int, float)):
            as_text = repr(value) if isinstance(value, float) else str(value)
            cleaned = self._clean_text(name, as_text, value)
            return cleaned
        raise TypeError(f"slot {name!r}: unsupported value type {type(value).__name__}")

    def _clean_text(self, name: str, text: str, original: str | int | float) -> str | int | float:
        from safebot.redaction.detector import Detection
        from safebot.redaction.redactor import _analysis

        analysis = self._redactor.analyze(text)
        if analysis.blocked:
            return "<REDACTED_MESSAGE>"
        found = list(analysis._detections)
        label = name.replace("_", " ")
        prefix = f"{label}: "
        try:
            context = self._redactor.detector.detect(prefix + text)
        except Exception:  # noqa: BLE001 - fail closed: the whole value goes
            return "<REDACTED_MESSAGE>"
        for d in context:
            start, end = d.start - len(prefix), d.end - len(prefix)
            if start >= 0 and not _overlaps(start, end, found):
                found.append(Detection(d.entity_type, start, end, d.score, d.recognizer))
        found = self._prefer_known_types(text, found)
        found += [d for d in self._known_values(text, found)]
        if not found:
            return original
        analysis = _analysis(text, found)
        return Inbound(self, analysis, self._number(analysis)).text("transcript").text

    # -- hand-off -------------------------------------------------------------------------------
    def agent_view(
        self, stored: Iterable[str], vault_get: Callable[[str], Sensitive[str] | None]
    ) -> list[RedactedText]:
        """Stored transcript texts re-rendered for a human agent: placeholders whose values the
        vault holds get the ``agent`` treatment (for cards, the last four); the rest stay
        placeholders. Each value shown is audited."""
        from safebot.redaction.detector import Detection
        from safebot.redaction.treatments import render
        from safebot.redaction.types import Placeholder

        policy = self._redactor.policy
        out = []
        for text in stored:
            parts: list[str] = []
            pos = 0
            for ph, start, end in Placeholder.find_all(text):
                parts.append(text[pos:start])
                pos = end
                value = vault_get(str(ph))
                if value is None:
                    parts.append(text[start:end])
                    continue
                raw = value.reveal()
                rendered = render(
                    raw, [Detection(ph.entity_type, 0, len(raw), 1.0, "vault")], [ph.number or 1],
                    policy, "agent", self._redactor.hmac_key,
                )
                parts.append(rendered.text)
                self._records.append(
                    AuditRecord(
                        "revealed", policy.hash, entity_type=ph.entity_type, destination="agent",
                        treatment=str(policy.treatment(ph.entity_type, "agent")),
                        conversation_id=self.conversation_ref, handler="handoff",
                    )
                )
            parts.append(text[pos:])
            out.append(_mint("".join(parts), "agent", policy.hash))
        return out


def _overlaps(start: int, end: int, spans: Iterable[Detection]) -> bool:
    return any(start < d.end and d.start < end for d in spans)


def _token_type(token: str) -> str:
    """The entity type of a placeholder token this session minted ('<US_SSN_1>' -> 'US_SSN')."""
    from safebot.redaction.types import Placeholder

    parsed = Placeholder.parse(token)
    if parsed is None:  # the memory holds placeholder tokens only; never a value
        raise ValueError("placeholder memory holds a token that is not a placeholder")
    return parsed.entity_type
