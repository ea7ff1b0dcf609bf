"""Retention per data class (issue 11 item 4): ``bot.yaml``'s ``retention:`` block says how long
transcripts, audit records, vault entries, deliveries and consent evidence are kept.

::

    retention:
      transcripts: 90d
      vault: 30d
      deliveries: 180d
      consent: 7y       # evidence no longer in force; a decision in force is always kept
      audit: 7y         # the chain's signed anchor moves (run.py)
      every: 1d         # how often ``safebot serve`` runs it (see run_periodically)

Why bot.yaml and not the policy: the policy says what is detected and how each destination
sees it, wherever text flows (``safebot redact``, archives on Spark, no store at all); how long
*this bot's store* keeps its tables is a property of the deployment, next to ``store:``, and a
retention change must not change the policy hash every audit record carries.

>>> from safebot.retention import run_retention
>>> run_retention(bot).deleted                      # doctest: +SKIP
{'transcripts': 120, 'vault': 4, 'audit': 5000}
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from safebot.retention.run import RetentionReport, run_retention
    from safebot.retention.schedule import run_periodically

__all__ = ["RetentionReport", "run_periodically", "run_retention"]

_WHERE = {"RetentionReport": "run", "run_retention": "run", "run_periodically": "schedule"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"safebot.retention.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'safebot.retention' has no attribute {name!r}")
