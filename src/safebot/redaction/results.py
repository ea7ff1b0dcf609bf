"""Compatibility re-exports while the core moves to :mod:`safebot.redaction.types`."""

from safebot.redaction.types import BLOCKED_TEXT, Finding, RedactedText

__all__ = ["BLOCKED_TEXT", "Finding", "RedactedText"]
