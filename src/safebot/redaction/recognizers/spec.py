"""The recognizer format: what a pack file (``packs/*.yaml``) or a policy's ``recognizers:``
entry says about one recognizer. Pydantic models, unknown keys rejected.

Every entry has a ``name``, the ``entity`` it finds, an ``engine`` and a ``priority`` (which
recognizer wins when two claim the same characters; a value right after its own cue word
wins first, then the higher priority, then the higher score). Engines:

* ``pattern``: regex patterns (Presidio's ``PatternRecognizer``), optionally with a
  ``value`` group, a validator, rejections, a deny list and context words;
* ``sequence``: an identifier in groups with separators between them, checked by length and
  validator ('4111 1111-1111.1111');
* ``cue_value``: a value after a cue phrase ('passport AB 123 456', 'CVV 123');
* ``code``: one of the few recognizers written in Python, by name (``code: phone_numbers``).

Lists of words may include a shipped word list as ``"@name"`` (``data/name.txt``); regexes
may use ``${name}`` (a pack's ``defines``) and ``${words:name}`` (a word list as an
alternation).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "CodeSpec",
    "CueValueSpec",
    "NerSpec",
    "PackFile",
    "PatternItem",
    "PatternSpec",
    "RecognizerSpec",
    "ScoreRuleSpec",
    "SequenceSpec",
    "parse_lengths",
    "parse_yaml",
]

Score = Annotated[float, Field(ge=0.0, le=1.0)]
Entity = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
Priority = Annotated[int, Field(ge=0, le=100)]
#: lengths as a list of numbers and ranges: [9], [3, 4], ["12-19"], "6-9"
Lengths = list[int | str] | str | int


def parse_lengths(value: Lengths) -> list[int]:
    """``[9]``, ``"12-19"``, ``[6, "8-10"]`` -> a sorted list of allowed lengths."""
    items = value if isinstance(value, list) else [value]
    out: set[int] = set()
    for item in items:
        if isinstance(item, int):
            out.add(item)
            continue
        low, sep, high = str(item).partition("-")
        if not low.strip().isdigit() or (sep and not high.strip().isdigit()):
            raise ValueError(f"a length is a number or a range like '12-19', not {item!r}")
        a, b = int(low), int(high) if sep else int(low)
        if a > b:
            raise ValueError(f"length range {item!r} runs backwards")
        out.update(range(a, b + 1))
    if not out or min(out) < 1 or max(out) > 64:
        raise ValueError("lengths must be between 1 and 64")
    return sorted(out)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PatternItem(_Strict):
    """One regex of a pattern recognizer (Presidio's ``Pattern``)."""

    name: str
    regex: str
    #: defaults to the recognizer's ``score``
    score: Score | None = None


class ScoreRuleSpec(_Strict):
    """A valid value that fully matches ``regex`` scores ``score`` (without a cue word)."""

    regex: str
    score: Score


class _Base(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=80)]
    entity: Entity
    #: which recognizer wins an overlap (after cue strength): 0-100, higher wins
    priority: Priority = 50
    description: str = ""


class _Context(_Strict):
    #: words that raise the score when near the value (right before: +0.5, nearby: +0.35)
    context: list[str] = Field(default_factory=list)
    #: words after which a value is not this entity unless a context word is near too
    negative_context: list[str] = Field(default_factory=list)
    #: report a value only when a context word is near
    requires_context: bool = False
    #: skip the recognizer for messages with fewer digits (a cheap prefilter)
    min_digits: Annotated[int, Field(ge=0, le=64)] = 0
    #: skip it unless one of these occurs in the lower-cased message (a cheap prefilter; with
    #: ``requires_context`` it defaults to the context words)
    needs_any: list[str] = Field(default_factory=list)


class PatternSpec(_Base, _Context):
    """Regex patterns (Presidio's ``PatternRecognizer``). A named group ``value`` is the part
    that is redacted; without it the whole match is."""

    engine: Literal["pattern"] = "pattern"
    patterns: list[PatternItem] = Field(default_factory=list)
    #: Presidio's deny list: words that *are* this entity ('Mr.', 'Mrs.' for TITLE)
    deny_list: list[str] = Field(default_factory=list)
    score: Score = 0.5
    case_sensitive: bool = False
    #: a named validator (see ``validators``); a value failing it scores ``invalid_score``
    validator: str | None = None
    #: a validator a value must pass to be considered at all (its shape, not its checksum)
    shape: str | None = None
    invalid_score: Score = 0.2
    #: values never taken (canonical form, case-insensitive): word lists and full-match regexes
    reject_values: list[str] = Field(default_factory=list)
    reject_patterns: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _legacy_checksum(cls, data: Any) -> Any:
        # The first custom-recognizer format called the validator 'checksum'.
        if isinstance(data, dict) and "checksum" in data:
            data = dict(data)
            checksum = data.pop("checksum")
            if data.get("validator") is not None and checksum is not None:
                raise ValueError("give either 'validator' or 'checksum', not both")
            data["validator"] = checksum
        return data

    @model_validator(mode="after")
    def _has_patterns(self) -> PatternSpec:
        if not self.patterns and not self.deny_list:
            raise ValueError("a pattern recognizer needs 'patterns' or a 'deny_list'")
        return self

    @property
    def checksum(self) -> str | None:
        """The validator's name (the first format's field name)."""
        return self.validator


class SequenceSpec(_Base, _Context):
    """An identifier in groups with separators: ``run`` finds the candidate, ``unit`` its groups."""

    engine: Literal["sequence"]
    run: str
    unit: str = r"\d+"
    lengths: Lengths
    score: Score = 0.5
    validator: str | None = None
    #: a validator a value must pass to be considered at all (e.g. an IBAN's country and length)
    shape: str | None = None
    invalid_score: Score = 0.2
    #: report a shaped value that fails the validator only when a cue word is near
    invalid_needs_cue: bool = True
    #: without a cue, a value that fails the validator counts only with this many digits
    #: ('UA12 3 in our schedule I can only see' has an IBAN's shape and length, and 3 digits)
    invalid_min_digits: int = Field(default=0, ge=0)
    value_scores: list[ScoreRuleSpec] = Field(default_factory=list)
    text_scores: list[ScoreRuleSpec] = Field(default_factory=list)
    reject_values: list[str] = Field(default_factory=list)
    reject_patterns: list[str] = Field(default_factory=list)

    @field_validator("lengths")
    @classmethod
    def _lengths(cls, value: Lengths) -> Lengths:
        parse_lengths(value)
        return value

    @property
    def patterns(self) -> list[PatternItem]:
        return []

    @property
    def checksum(self) -> str | None:
        return self.validator


class CueValueSpec(_Base):
    """A value after a cue: ``cues`` are regexes matched on the lower-cased text."""

    engine: Literal["cue_value"]
    cues: Annotated[list[str], Field(min_length=1)]
    lengths: Lengths
    score: Score = 0.85
    invalid_score: Score = 0.6
    digits_only: bool = False
    #: the value must hold a digit
    need_digit: bool = True
    #: letter-only groups after the first: no, unusual (not common words), any
    letter_groups: Literal["no", "unusual", "any"] = "no"
    #: words skipped between cue and value
    filler: list[str] = Field(default_factory=lambda: ["@filler"])
    max_filler: Annotated[int, Field(ge=0, le=10)] = 4
    validator: str | None = None
    reject_values: list[str] = Field(default_factory=list)
    reject_patterns: list[str] = Field(default_factory=list)
    min_digits: Annotated[int, Field(ge=0, le=64)] = 0
    #: skip it unless one of these occurs in the lower-cased message (the cues' plain words)
    needs_any: list[str] = Field(default_factory=list)

    @field_validator("lengths")
    @classmethod
    def _lengths(cls, value: Lengths) -> Lengths:
        parse_lengths(value)
        return value

    @property
    def patterns(self) -> list[PatternItem]:
        return []

    @property
    def context(self) -> list[str]:
        return []

    @property
    def checksum(self) -> str | None:
        return self.validator


class CodeSpec(_Base, _Context):
    """One of safebot's recognizers written in Python, by name, with its options."""

    engine: Literal["code"]
    code: str
    options: dict[str, Any] = Field(default_factory=dict)

    @property
    def patterns(self) -> list[PatternItem]:
        return []

    @property
    def checksum(self) -> str | None:
        return None


def _engine_of(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("engine", "pattern"))
    return str(getattr(value, "engine", "pattern"))


RecognizerSpec = Annotated[
    Annotated[PatternSpec, Tag("pattern")]
    | Annotated[SequenceSpec, Tag("sequence")]
    | Annotated[CueValueSpec, Tag("cue_value")]
    | Annotated[CodeSpec, Tag("code")],
    Discriminator(_engine_of),
]


class NerSpec(_Strict):
    """Which spaCy NER labels become which entity, and the priority of those guesses."""

    priority: Priority = 20
    labels: dict[Entity, list[str]]


class PackFile(_Strict):
    """A recognizer pack: ``packs/<name>.yaml``."""

    pack: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    description: str = ""
    #: regex fragments the pack's patterns use as ${name}
    defines: dict[str, str] = Field(default_factory=dict)
    ner: NerSpec | None = None
    recognizers: list[RecognizerSpec] = Field(default_factory=list)


_ENGINE_TAGS = frozenset({"pattern", "sequence", "cue_value", "code"})


def parse_yaml(model: type[M], data: Any, node: Any, where: str) -> M:
    """Like :func:`safebot.config.yaml_models.parse_yaml_model` (file, line and field on an
    error), but the engine a recognizer entry was validated as is left out of the field's
    path: pydantic puts it there ('recognizers[0].sequence.lengths'); the file has no such key."""
    from pydantic import ValidationError

    from safebot.config.yaml_models import line_of
    from safebot.errors import ConfigError

    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        errors.sort(key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        loc: list[str | int] = []
        parts = list(first["loc"])
        for i, part in enumerate(parts):
            if isinstance(part, str) and part.startswith("function-"):
                continue
            if part in _ENGINE_TAGS and i > 0 and isinstance(parts[i - 1], int):
                continue
            loc.append(part)
        msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        more = len(errors) - 1
        if more:
            msg += f" (and {more} more error{'s' if more > 1 else ''})"
        field = ""
        for part in loc:
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        raise ConfigError(msg, path=where, line=line_of(node, tuple(loc)), field=field or "(top level)") from None
