"""The recognizers of one policy, held in a registry object (never a module global).

Three kinds go in, all Presidio recognizers whose ``analyze()`` the detector calls:

* safebot's packs (``packs/*.yaml``) and the policy's own ``recognizers:`` entries, built
  from the recognizer format (``spec``);
* recognizers written in Presidio's own YAML format, loaded unchanged with Presidio's
  ``RecognizerRegistry.add_recognizers_from_yaml``;
* any Presidio ``EntityRecognizer`` class, by import path.

Every ``PatternRecognizer`` among them searches with deadline-bounded patterns (``budget``).
The registry also exposes a Presidio ``RecognizerRegistry`` holding the same objects, so the
policy's recognizers can be handed to a stock ``AnalyzerEngine`` as they are.
"""

from __future__ import annotations

import contextlib
import importlib
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safebot.errors import ConfigError
from safebot.redaction._imports import import_nlp_stack

if TYPE_CHECKING:  # pragma: no cover
    from presidio_analyzer import EntityRecognizer, RecognizerRegistry

    from safebot.redaction.policy import Policy
    from safebot.redaction.recognizers.engines.base import Context

__all__ = ["Entry", "PolicyRegistry", "import_recognizer_class"]


@dataclass(frozen=True)
class Entry:
    """One recognizer with what the detector needs to know about it."""

    recognizer: EntityRecognizer
    priority: int
    #: where it came from: 'pack:bank', 'policy', 'presidio-yaml:<file>', 'class:<path>'
    source: str
    #: a cheap prefilter ``(text, digit_count) -> bool`` (safebot's engines have one)
    applies: Callable[[str, int], bool] | None = None
    #: context words of a third-party recognizer, applied the way Presidio's AnalyzerEngine does
    context: Context | None = field(default=None, compare=False)

    @property
    def third_party(self) -> bool:
        return not self.source.startswith(("pack:", "policy"))


def import_recognizer_class(path: str) -> type[EntityRecognizer]:
    """``'package.module:Class'`` or ``'package.module.Class'`` -> the class (an EntityRecognizer)."""
    import_nlp_stack()
    from presidio_analyzer import EntityRecognizer

    module, sep, name = path.partition(":")
    if not sep:
        module, _, name = path.rpartition(".")
    if not module or not name:
        raise ConfigError(f"{path!r} is not an import path ('package.module:Class')")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ConfigError(f"cannot import recognizer class {path!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, EntityRecognizer)):
        raise ConfigError(f"{path!r} is not a presidio_analyzer.EntityRecognizer subclass")
    return cls


def _entry(recognizer: Any, priority: int, source: str) -> Entry:
    from presidio_analyzer import PatternRecognizer

    from safebot.redaction.recognizers.engines.base import Context
    from safebot.redaction.recognizers.engines.pattern import install_deadline_patterns

    ours = source.startswith(("pack:", "policy"))
    if isinstance(recognizer, PatternRecognizer):
        install_deadline_patterns(recognizer)
    applies = getattr(recognizer, "applies", None) if ours else None
    context = None
    if not ours and recognizer.context:
        context = Context([str(w) for w in recognizer.context])
    return Entry(recognizer, priority, source, applies, context)


class PolicyRegistry:
    """The recognizers a policy uses, in the order the detector runs them.

    >>> registry = PolicyRegistry.for_policy(load_policy("examples/bank/policy.yaml"))  # doctest: +SKIP
    >>> registry.presidio.get_supported_entities()                                      # doctest: +SKIP
    ['ABA_ROUTING_NUMBER', 'ADDRESS', ...]
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries: tuple[Entry, ...] = tuple(entries)
        self._presidio: RecognizerRegistry | None = None

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def recognizers(self) -> list[EntityRecognizer]:
        return [e.recognizer for e in self.entries]

    @property
    def presidio(self) -> RecognizerRegistry:
        """A Presidio ``RecognizerRegistry`` with the same recognizer objects."""
        if self._presidio is None:
            from presidio_analyzer import RecognizerRegistry

            self._presidio = RecognizerRegistry(recognizers=self.recognizers, supported_languages=["en"])
        return self._presidio

    def supported_entities(self) -> frozenset[str]:
        return frozenset(e for entry in self.entries for e in entry.recognizer.supported_entities)

    @classmethod
    def for_policy(cls, policy: Policy, *, entities: Iterable[str] | None = None) -> PolicyRegistry:
        """Fresh recognizers for ``policy`` (only those finding one of its entities, or of
        ``entities`` when given)."""
        import_nlp_stack()
        from safebot.redaction.recognizers.packs import (
            build_recognizer,
            load_pack,
            pack_defines,
            shipped_defines,
        )

        wanted = set(entities) if entities is not None else set(policy.entities)
        out: list[Entry] = []
        for pack in policy.packs:
            defines = pack_defines(pack)
            for spec in load_pack(pack).spec.recognizers:
                if spec.entity in wanted:
                    out.append(_entry(build_recognizer(spec, defines), spec.priority, f"pack:{pack}"))
        for spec in policy.recognizers:
            if spec.entity in wanted:
                out.append(_entry(build_recognizer(spec, shipped_defines()), spec.priority, "policy"))
        plugins = policy.presidio
        base = policy.base_dir
        for yaml_path in plugins.yaml:
            for rec in load_presidio_yaml(base / yaml_path):
                if set(rec.supported_entities) & wanted:
                    out.append(_entry(rec, plugins.priority, f"presidio-yaml:{yaml_path}"))
        for plugin in plugins.classes:
            rec = import_recognizer_class(plugin.class_)(**plugin.kwargs)
            missing = set(plugin.entities) - set(rec.supported_entities)
            if missing:
                raise ConfigError(
                    f"recognizer class {plugin.class_!r} does not find {', '.join(sorted(missing))} "
                    f"(it supports {', '.join(rec.supported_entities)})", field="presidio.classes"
                )
            if set(rec.supported_entities) & wanted:
                priority = plugin.priority if plugin.priority is not None else plugins.priority
                out.append(_entry(rec, priority, f"class:{plugin.class_}"))
        return cls(out)


def load_presidio_yaml(path: Path) -> Sequence[EntityRecognizer]:
    """Recognizers from a file in Presidio's YAML recognizer format, by Presidio's own loader."""
    from presidio_analyzer import RecognizerRegistry

    registry = RecognizerRegistry(recognizers=[], supported_languages=["en"])
    try:
        # Presidio prints (to stdout) when a file is bad; the policy loader has checked it already.
        with contextlib.redirect_stdout(io.StringIO()):
            registry.add_recognizers_from_yaml(path)
    except Exception as exc:  # noqa: BLE001 - Presidio raises bare exceptions for bad files
        raise ConfigError(f"Presidio could not load this recognizer file ({type(exc).__name__})", path=str(path)) from None
    return list(registry.recognizers)
