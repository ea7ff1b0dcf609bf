"""The compliance reviewer's console: policies, findings and evidence as pages people look at.

* ``safebot policy explain FILE --format html`` and ``safebot policy diff OLD NEW --format
  html``: self-contained policy pages (:mod:`~safebot.console.pages`);
* ``safebot report BOT_DIR -o report.html``: the activity report, from the store alone
  (:mod:`~safebot.console.activity`, charts as inline SVG by :mod:`~safebot.console.charts`);
* ``/console`` in ``safebot serve``: the same pages live, the audit trail with filters and a
  conversation's transcript, behind keys with the ``compliance`` role, every view audited
  (:mod:`~safebot.console.web`).

Importing this package imports nothing heavy; the server imports :func:`console_router`.

>>> from safebot.console import console_router      # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import APIRouter

    from safebot.serve.state import ServerState

__all__ = ["console_router"]


def console_router(state: ServerState, **kwargs: Any) -> APIRouter:
    """The ``/console`` routes for a served bot (see :mod:`safebot.console.web`)."""
    from safebot.console.web import console_router as build

    return build(state, **kwargs)
