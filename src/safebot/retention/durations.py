"""Retention periods as people write them: ``90d``, ``12w``, ``7y``, ``36h`` (or a number of days).

>>> parse_duration("90d") == 90 * 86400
True
>>> parse_duration("7y") == 7 * 365 * 86400
True
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

__all__ = ["Duration", "format_duration", "parse_duration"]

_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_PATTERN = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([hdwy])\s*")


def parse_duration(value: object) -> float:
    """Seconds in ``value``: ``<number><h|d|w|y>`` or a bare number of days; positive."""
    if isinstance(value, bool):
        raise ValueError("a duration such as 90d, 12w, 7y or 36h")
    if isinstance(value, int | float):
        seconds = float(value) * 86400
    elif isinstance(value, str) and (m := _PATTERN.fullmatch(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError("a duration such as 90d, 12w, 7y or 36h")
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    for unit in ("y", "w", "d", "h"):
        if seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds / 86400:g}d"


Duration = Annotated[float, BeforeValidator(parse_duration)]
