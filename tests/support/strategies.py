"""Hypothesis strategies for planted PII (tests only; support.pii itself needs no Hypothesis).

    >>> from support.strategies import planted
    >>> strategy = planted("CREDIT_CARD", "spelled_digits")

Each example is a :class:`support.pii.Message` planting one identifier of ``kind`` written in
``form`` (an everyday form or an obfuscated one) in one of the kind's (or the form's) message
templates. The value, its grouping and the template come from a ``random.Random`` seeded by
Hypothesis, so a failure shrinks to a small seed and replays exactly.
"""

from __future__ import annotations

import random

from hypothesis import strategies as st

from support import pii

__all__ = ["SEEDS", "planted", "policy_domain"]

#: a seed for the generators' random.Random: shrinks to a small seed, never to a degenerate value
SEEDS = st.integers(min_value=0, max_value=2**32 - 1).map(random.Random)


def policy_domain(kind: str) -> str:
    """The example bot whose policy a kind is checked with (common kinds: the bank's)."""
    return "airline" if pii.KINDS[kind].domain == "airline" else "bank"


def planted(kind: str, form: str | None = None, domain: str | None = None) -> st.SearchStrategy[pii.Message]:
    """Messages planting ``kind`` in ``form`` (None: any of the kind's everyday forms)."""
    where = domain or policy_domain(kind)
    return SEEDS.map(lambda rnd: pii.plant(rnd, kind, form=form, domain=where))
