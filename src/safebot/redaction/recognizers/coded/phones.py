"""PHONE_NUMBER via Google's libphonenumber (``phonenumbers``), several regions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import phonenumbers

from safebot.redaction.recognizers.budget import check, compile_rx
from safebot.redaction.recognizers.engines.base import Context, SafebotRecognizer, boost

__all__ = ["SafebotPhoneRecognizer"]

# '1978-04-13 12:20:39' (a timestamp) and '195.206.132.199' (an IP address) are not phones.
_NOT_PHONE_SHAPE = compile_rx(
    r"(?:19|20)\d{2}-[01]\d-[0-3]\d(?!\d)|"
    r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\s*$"
)
# libphonenumber's matcher is slow on long text: it runs only on runs of digits and separators
# that hold 7+ digits and do not touch letters (an MRZ line is not a phone).
_CANDIDATE = compile_rx(r"(?<![^\W\d_])\+?[(\d][\d \t().\-/]{5,}\d\)?(?![^\W\d_])")


class SafebotPhoneRecognizer(SafebotRecognizer):
    """Numbers libphonenumber can place in one of ``regions`` (the first region that finds
    any wins). A valid number scores ``score``; an invalid one of 10+ digits ``invalid_score``.
    A number right after a negative word ('reference', 'account') is not a phone unless a
    phone word is near too."""

    def __init__(
        self,
        entity: str,
        name: str,
        *,
        regions: Sequence[str],
        score: float = 0.75,
        invalid_score: float = 0.45,
        context: Context | None = None,
        min_digits: int = 7,
        priority: int = 50,
    ) -> None:
        super().__init__(entity, name, context=context, min_digits=min_digits, priority=priority)
        self.regions = tuple(regions)
        self._score, self._invalid = score, invalid_score

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float, int, bool]]:
        for cand in _CANDIDATE.finditer(text):
            if _NOT_PHONE_SHAPE.match(cand.group(0)):
                continue
            if sum(c.isdigit() for c in cand.group(0)) >= 7:
                yield from self._find_in(text, lower, cand.start(), cand.end())

    def _find_in(self, text: str, lower: str, start: int, end: int) -> Iterable[tuple[int, int, float, int, bool]]:
        seen: set[tuple[int, int]] = set()
        chunk = text[start:end]
        for region in self.regions:
            check()  # libphonenumber cannot be interrupted; look at the clock between regions
            for match in phonenumbers.PhoneNumberMatcher(chunk, region, leniency=phonenumbers.Leniency.POSSIBLE):
                span = (start + match.start, start + match.end)
                if span in seen:
                    continue
                seen.add(span)
                valid = phonenumbers.is_valid_number(match.number)
                digits = sum(c.isdigit() for c in match.raw_string)
                if not valid and digits < 10:
                    continue
                cue = self.cues.strength(lower, *span)
                if not cue and self.cues.negated(lower, span[0]):
                    continue
                yield span[0], span[1], (self._score if valid else self._invalid) + boost(cue), cue, valid
            if seen:
                break
