"""Overlap resolution: which of the candidates that claim the same characters is kept.

A candidate whose own cue word comes right before it wins ('call me at 0494 92 82 32 ...
accounts' is a phone number); then one whose value passed its validator over one that failed
it (a loyalty number after 'card' is not a mistyped card number); then the higher priority
(declared per recognizer in the packs); then one with a cue nearby; then the higher score;
then the longer span. The winner keeps its type but is widened over the candidates it beat, so no part of
a value is left readable ('LQZT' found as a name inside 'LQZT GB SF XXX' as a BIC).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["Candidate", "near_misses", "resolve"]


@dataclass(frozen=True, slots=True)
class Candidate:
    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str
    cue: int
    priority: int
    valid: bool = True


def _rank(c: Candidate) -> tuple[int, int, int, int, float, int, int]:
    return (-(c.cue >= 2), -c.valid, -c.priority, -c.cue, -c.score, -(c.end - c.start), c.start)


def resolve(
    text: str,
    found: Iterable[Candidate],
    *,
    threshold: Callable[[str], float],
    entities: frozenset[str] | set[str],
    allow: frozenset[str] | set[str],
) -> list[Candidate]:
    """Drop low scores, other entities and allow-listed values; keep the best of overlaps."""
    candidates = [
        c
        for c in found
        if c.entity_type in entities
        and c.score >= threshold(c.entity_type)
        and (not allow or text[c.start : c.end].strip().lower() not in allow)
    ]
    candidates.sort(key=_rank)
    kept: list[Candidate] = []
    for c in candidates:
        overlapping = [i for i, k in enumerate(kept) if c.start < k.end and k.start < c.end]
        if not overlapping:
            kept.append(c)
            continue
        i = overlapping[0]
        k = kept[i]
        start, end = min(k.start, c.start), max(k.end, c.end)
        for j in overlapping[1:]:
            start, end = min(start, kept[j].start), max(end, kept[j].end)
        kept[i] = Candidate(k.entity_type, start, end, k.score, k.recognizer, k.cue, k.priority, k.valid)
        for j in reversed(overlapping[1:]):
            del kept[j]
    kept.sort(key=lambda c: c.start)
    return kept


def near_misses(
    text: str,
    found: Iterable[Candidate],
    kept: Iterable[Candidate],
    *,
    threshold: Callable[[str], float],
    entities: frozenset[str] | set[str],
    allow: frozenset[str] | set[str],
    margin: float,
) -> list[Candidate]:
    """Candidates of the policy's entities that scored below their threshold by at most
    ``margin``, on characters no kept detection covers, and not allow-listed: values the
    policy let through that were close to being redacted (the console reports them: type,
    recognizer and score). One per span, the best score."""
    taken = [(k.start, k.end) for k in kept]
    best: dict[tuple[str, int, int], Candidate] = {}
    for c in found:
        limit = threshold(c.entity_type)
        if c.entity_type not in entities or not (limit - margin <= c.score < limit):
            continue
        if any(c.start < e and s < c.end for s, e in taken):
            continue
        if allow and text[c.start : c.end].strip().lower() in allow:
            continue
        key = (c.entity_type, c.start, c.end)
        if key not in best or c.score > best[key].score:
            best[key] = c
    return sorted(best.values(), key=lambda c: (c.start, c.entity_type))
