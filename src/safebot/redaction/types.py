"""The values the redaction boundary hands out: findings, placeholders and redacted text.

:class:`RedactedText` is the only text type sinks, stores and channels accept, and only the
redaction package can make one: its constructor refuses every caller, and each instance
carries a seal (an HMAC under a key that lives for the process inside
``safebot.redaction._seal``) over its content. A value assembled any other way (``object.__new__``,
``copy``, ``pickle``, attribute surgery) fails :func:`is_sealed`, and every sink checks it.

>>> RedactedText("my card is 4111 1111 1111 1111")
Traceback (most recent call last):
...
TypeError: RedactedText is made by safebot.redaction only (a Redactor or RedactionSession)
>>> Placeholder.parse("<CREDIT_CARD_2>")
Placeholder(entity_type='CREDIT_CARD', number=2)
>>> canonical_value("4111-1111 1111.1111")
'4111111111111111'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from safebot.redaction import _seal

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.policy import Destination

__all__ = ["BLOCKED_TEXT", "Finding", "Placeholder", "RedactedText", "canonical_value", "is_sealed"]

#: what every destination gets when detection failed (fail closed)
BLOCKED_TEXT = "<REDACTED_MESSAGE>"


def canonical_value(value: str) -> str:
    """A value with separators and case removed, so '4111-1111…' and '4111 1111…' compare equal.

    NFKC first, so 'José' typed composed or decomposed, or '４１１１' in full-width digits, is the
    same value. The one canonical form used for placeholder numbering, keyed hashes,
    fingerprints and leak checks.
    """
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return "".join(c for c in value if c.isalnum()).upper()


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected entity. Offsets index the input text; the value itself is not kept."""

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str

    def to_json(self) -> dict[str, object]:
        return {
            "type": self.entity_type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
            "recognizer": self.recognizer,
        }


_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)(?:_(\d+))?>")


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A typed placeholder such as ``<CREDIT_CARD_1>``; ``number`` is None for ``<PERSON>``.

    >>> str(Placeholder("IBAN_CODE", 3))
    '<IBAN_CODE_3>'
    >>> [str(p) for p, _, _ in Placeholder.find_all("pay <PERSON_1> from <IBAN_CODE_2>")]
    ['<PERSON_1>', '<IBAN_CODE_2>']
    """

    entity_type: str
    number: int | None = None

    #: matches any placeholder; group 1 is the type, group 2 the number (if any)
    PATTERN = _PLACEHOLDER

    def __str__(self) -> str:
        return f"<{self.entity_type}_{self.number}>" if self.number is not None else f"<{self.entity_type}>"

    @classmethod
    def parse(cls, text: object) -> Placeholder | None:
        """The placeholder ``text`` is (surrounding spaces ignored), or None."""
        if not isinstance(text, str):
            return None
        m = _PLACEHOLDER.fullmatch(text.strip())
        if m is None:
            return None
        return cls(m.group(1), int(m.group(2)) if m.group(2) else None)

    @classmethod
    def find_all(cls, text: str) -> list[tuple[Placeholder, int, int]]:
        """Every placeholder in ``text`` with its span."""
        return [
            (cls(m.group(1), int(m.group(2)) if m.group(2) else None), m.start(), m.end())
            for m in _PLACEHOLDER.finditer(text)
        ]

    @classmethod
    def is_only_placeholders(cls, text: str) -> bool:
        """True when ``text`` holds nothing but placeholders and spaces."""
        return bool(text.strip()) and not _PLACEHOLDER.sub("", text).strip()


class RedactedText:
    """Text after the policy's treatment for one destination. Safe to log, store and export.

    Made by :class:`~safebot.redaction.Redactor` and
    :class:`~safebot.redaction.RedactionSession`; read-only.

    >>> r = redactor.redact("my card is 4111 1111 1111 1111")      # doctest: +SKIP
    >>> str(r), r.destination                                          # doctest: +SKIP
    ('my card is <CREDIT_CARD_1>', 'transcript')
    """

    __slots__ = ("_blocked", "_destination", "_findings", "_policy_hash", "_seal", "_text", "_vault_tokens")

    _text: str
    _findings: tuple[Finding, ...]
    _destination: Destination
    _policy_hash: str
    _blocked: bool
    _vault_tokens: tuple[str, ...]
    _seal: bytes

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("RedactedText is made by safebot.redaction only (a Redactor or RedactionSession)")

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("RedactedText is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("RedactedText is immutable")

    def __reduce__(self) -> NoReturn:
        # A pickled copy would be rebuilt without the redaction package; there is no need to
        # ship one between processes (ship its .text, which is safe, instead).
        raise TypeError("RedactedText cannot be pickled; send .text")

    def __copy__(self) -> RedactedText:
        return self

    def __deepcopy__(self, memo: object) -> RedactedText:
        return self

    # -- reading -------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return self._text

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self._findings

    @property
    def destination(self) -> Destination:
        return self._destination

    @property
    def policy_hash(self) -> str:
        return self._policy_hash

    @property
    def blocked(self) -> bool:
        return self._blocked

    @property
    def vault_tokens(self) -> tuple[str, ...]:
        """Placeholders whose values were encrypted into the vault (treatment ``encrypt``)."""
        return self._vault_tokens

    @property
    def entity_types(self) -> tuple[str, ...]:
        return tuple(f.entity_type for f in self._findings)

    def placeholders(self) -> Iterator[Placeholder]:
        for p, _, _ in Placeholder.find_all(self._text):
            yield p

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"RedactedText({self._text!r}, destination={self._destination!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RedactedText)
            and other._text == self._text
            and other._destination == self._destination
            and other._blocked == self._blocked
        )

    def __hash__(self) -> int:
        return hash((self._text, self._destination, self._blocked))


def _mint(
    text: str,
    destination: Destination,
    policy_hash: str,
    *,
    findings: tuple[Finding, ...] = (),
    blocked: bool = False,
    vault_tokens: tuple[str, ...] = (),
) -> RedactedText:
    """Make a RedactedText. Private to the redaction package (the redactor and the session)."""
    out = object.__new__(RedactedText)
    setter = object.__setattr__
    setter(out, "_text", str(text))
    setter(out, "_findings", tuple(findings))
    setter(out, "_destination", destination)
    setter(out, "_policy_hash", policy_hash)
    setter(out, "_blocked", bool(blocked))
    setter(out, "_vault_tokens", tuple(vault_tokens))
    setter(out, "_seal", _seal.seal(_fields(out)))
    return out


def _fields(r: RedactedText) -> bytes:
    return "\x00".join((r._text, str(r._destination), r._policy_hash, "1" if r._blocked else "0")).encode()


def is_sealed(value: object) -> bool:
    """True only for a RedactedText the redaction package made, unchanged since."""
    if type(value) is not RedactedText:
        return False
    try:
        return _seal.check(_fields(value), value._seal)
    except AttributeError:  # assembled by hand, fields missing
        return False
