"""Multi-intent labels: ``check_balance+transfer`` is learnt and predicted as its parts.

Rasa's convention: an intent name made of several intents joined by a split symbol (``+`` by
default) means the message asks for all of them. Kept as classes of their own, such labels
have few examples each and a combination never seen in training cannot be predicted. Split
into parts instead, each part is a one-vs-rest decision trained on every example that contains
it, and a prediction is the best part plus every other part whose decision value clears
``threshold`` (at most ``max_parts`` in all), joined back into one name:

* in the order that combination had in training, when it occurred there;
* otherwise by how often each part occurs in training, most frequent first.

Opt-in (``ClassifierConfig(intent_split_symbol="+")``), and only data that contains a
multi-intent label trains this way. Measured on ATIS it did not help: its annotators often
label "flights and fares" questions ``airfare`` alone, so the parts are not independent
decisions there (docs/benchmarks-intents.md).

>>> c = Composer.fit(["flight", "flight+airfare", "airfare"], symbol="+")
>>> c.join({"airfare", "flight"})
'flight+airfare'
>>> c.parts("flight+airfare")
('flight', 'airfare')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Composer", "has_multi_intents"]


def has_multi_intents(labels: Iterable[str], symbol: str) -> bool:
    """True when some label joins several intents with ``symbol``."""
    return bool(symbol) and any(symbol in label for label in labels)


@dataclass(frozen=True)
class Composer:
    """Splits multi-intent labels into parts and joins predicted parts back into a label."""

    symbol: str
    frequency: dict[str, int]  # how often each part occurs in training labels
    orders: dict[frozenset[str], tuple[str, ...]]  # the order each seen combination had

    @classmethod
    def fit(cls, labels: Sequence[str], *, symbol: str) -> Composer:
        """Learn part frequencies and the written order of each combination from ``labels``."""
        if not symbol:
            raise ValueError("a multi-intent split symbol is needed")
        frequency: Counter[str] = Counter()
        seen: dict[frozenset[str], Counter[tuple[str, ...]]] = {}
        for label in labels:
            parts = tuple(label.split(symbol))
            frequency.update(parts)
            if len(parts) > 1:
                seen.setdefault(frozenset(parts), Counter())[parts] += 1
        # Most common written order first; ties go to the alphabetically first, for determinism.
        orders = {
            key: min(counts, key=lambda order: (-counts[order], order))
            for key, counts in seen.items()
        }
        return cls(symbol, dict(frequency), orders)

    def parts(self, label: str) -> tuple[str, ...]:
        """The intents a label names (one for a plain intent)."""
        return tuple(label.split(self.symbol))

    def join(self, parts: Iterable[str]) -> str:
        """One label for a set of parts (see the module docstring for the order)."""
        chosen = set(parts)
        order = self.orders.get(frozenset(chosen))
        if order is None:
            order = tuple(sorted(chosen, key=lambda p: (-self.frequency.get(p, 0), p)))
        return self.symbol.join(order)

    @property
    def combinations(self) -> tuple[str, ...]:
        """The multi-intent labels seen in training, sorted."""
        return tuple(sorted(self.symbol.join(order) for order in self.orders.values()))

    def choose(
        self, decisions: npt.NDArray[np.float64], threshold: float, max_parts: int
    ) -> list[int]:
        """Indices of the parts to predict from one row of one-vs-rest decision values."""
        import numpy as np

        ranked = np.argsort(-decisions)
        chosen = [int(ranked[0])]
        for j in ranked[1:max_parts]:
            if decisions[j] < threshold:
                break
            chosen.append(int(j))
        return chosen

    # -- persistence (JSON) -------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """JSON-able state for :meth:`from_state`."""
        return {
            "symbol": self.symbol,
            "frequency": dict(sorted(self.frequency.items())),
            "orders": sorted(list(order) for order in self.orders.values()),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Composer:
        """Rebuild a composer saved with :meth:`state`."""
        orders = {frozenset(o): tuple(str(p) for p in o) for o in state["orders"]}
        frequency = {str(k): int(v) for k, v in state["frequency"].items()}
        return cls(str(state["symbol"]), frequency, orders)
