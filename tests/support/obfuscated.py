"""Obfuscated forms of an identifier: how careless customers and attackers disguise one.

Each form turns a value (and the groups people split it into) into the text a customer types:
odd separators (underscores, commas, newlines, tabs, four spaces, NUL bytes, "and then"),
every character spaced, non-ASCII decimal digits, digits spelled out as words, the letters O
and l/I for 0 and 1, Cyrillic and Greek look-alike letters, the value inside JSON or a URL
(plain or percent-encoded), a combining mark inside the digits, names with decomposed accents
(NFD), and e-mail addresses with the @ and dots written out.

This module also holds the test oracle's own *de-obfuscation* (``reveal``): it folds the same
tricks back so that a partly redacted value is still found by ``survives``. It is written
independently of ``safebot.redaction.normalise`` on purpose: a test must not trust the code it
tests. Standard library only.
"""

from __future__ import annotations

import random
import re
import unicodedata
import urllib.parse
from collections.abc import Sequence

__all__ = [
    "ENCODED_FORMS",
    "FORMS_BY_KIND",
    "OBFUSCATED_FORMS",
    "json_key",
    "render",
    "reveal",
    "templates",
]

Groups = Sequence[str]

# --- the forms ----------------------------------------------------------------------------------

SEPARATOR_FORMS = ("underscores", "commas", "newlines", "tabs", "four_spaces", "every_char_spaced",
                   "nul_bytes", "and_then")
DIGIT_SCRIPT_FORMS = ("arabic_indic", "devanagari", "other_digits")
WORD_FORMS = ("spelled_digits", "spelled_grouped")
LOOKALIKE_FORMS = ("letter_o_l", "homoglyphs")
ENCODED_FORMS = ("json", "url_query", "percent_encoded")
MARK_FORMS = ("combining_mark",)
EMAIL_FORMS = ("email_spaced_at", "email_bracket_at_dot", "email_paren_at", "email_at_dot_words",
               "email_percent_40")
NAME_FORMS = ("nfd_accents",)

_ID_FORMS = (*SEPARATOR_FORMS, *DIGIT_SCRIPT_FORMS, *WORD_FORMS, *LOOKALIKE_FORMS, *ENCODED_FORMS,
             *MARK_FORMS)

#: which obfuscated forms apply to which kind (every identifier type times every form that makes
#: sense for it: a SWIFT code has no digits to spell, a name has no groups to separate)
FORMS_BY_KIND: dict[str, tuple[str, ...]] = {
    **{k: _ID_FORMS for k in ("CREDIT_CARD", "IBAN_CODE", "ABA_ROUTING_NUMBER", "BANK_ACCOUNT",
                              "US_SSN", "US_ITIN", "CVV", "PIN", "TICKET_NUMBER", "PASSPORT",
                              "FREQUENT_FLYER", "KNOWN_TRAVELER_NUMBER", "REDRESS_NUMBER",
                              "PHONE_NUMBER")},
    # booking references are drawn without 0, 1, O and I (airlines leave them out): no 'letter_o_l'
    "BOOKING_REFERENCE": tuple(f for f in _ID_FORMS if f != "letter_o_l"),
    "SWIFT_CODE": (*SEPARATOR_FORMS, "homoglyphs", *ENCODED_FORMS),
    "PASSPORT_MRZ": ("homoglyphs", "json", "combining_mark", "nul_bytes"),
    "DATE_OF_BIRTH": (*DIGIT_SCRIPT_FORMS, "underscores", "nul_bytes", "json", "url_query",
                      "combining_mark"),
    "EMAIL_ADDRESS": (*EMAIL_FORMS, "homoglyphs", "json", "url_query", "nul_bytes"),
    "PERSON": ("nfd_accents", "homoglyphs", "json", "percent_encoded"),
    "ADDRESS": ("json", "percent_encoded"),
}

OBFUSCATED_FORMS: tuple[str, ...] = tuple(sorted({f for fs in FORMS_BY_KIND.values() for f in fs}))

# --- data ---------------------------------------------------------------------------------------

_DIGIT_BASES = {"arabic_indic": 0x0660, "devanagari": 0x0966, "persian": 0x06F0, "bengali": 0x09E6,
                "thai": 0x0E50, "gujarati": 0x0AE6, "khmer": 0x17E0, "mongolian": 0x1810,
                "nko": 0x07C0, "tamil": 0x0BE6, "myanmar": 0x1040, "lao": 0x0ED0}
_OTHER_SCRIPTS = ("persian", "bengali", "thai", "gujarati", "khmer", "mongolian", "nko", "tamil",
                  "myanmar", "lao")

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

# Latin -> look-alikes (Cyrillic first, then Greek); digits -> Cyrillic letters that pass for them
_CYRILLIC = {"A": "\u0410", "B": "\u0412", "C": "\u0421", "E": "\u0415", "H": "\u041d",
             "K": "\u041a", "M": "\u041c", "O": "\u041e", "P": "\u0420", "T": "\u0422",
             "X": "\u0425", "Y": "\u0423", "a": "\u0430", "c": "\u0441", "e": "\u0435",
             "o": "\u043e", "p": "\u0440", "x": "\u0445", "y": "\u0443", "i": "\u0456",
             "j": "\u0458", "s": "\u0455", "I": "\u0406", "J": "\u0408", "S": "\u0405",
             "0": "\u041e", "3": "\u0417"}
_GREEK = {"A": "\u0391", "B": "\u0392", "E": "\u0395", "H": "\u0397", "I": "\u0399", "K": "\u039a",
          "M": "\u039c", "N": "\u039d", "O": "\u039f", "P": "\u03a1", "T": "\u03a4", "X": "\u03a7",
          "Y": "\u03a5", "Z": "\u0396", "o": "\u03bf", "0": "\u039f"}
_UNCONFUSE = {v: k for table in (_CYRILLIC, _GREEK) for k, v in table.items() if not k.isdigit()}
_UNCONFUSE["\u0417"] = "3"

_MARKS = ("\u0301", "\u0300", "\u0308", "\u0303", "\u0336", "\u0332", "\u20e3", "\u0489")

_JSON_KEYS = {
    "CREDIT_CARD": ("card", "card_number", "cardNumber", "pan"),
    "IBAN_CODE": ("iban", "payee_iban"),
    "ABA_ROUTING_NUMBER": ("routing_number", "aba"),
    "BANK_ACCOUNT": ("account_number", "accountNo"),
    "US_SSN": ("ssn", "social_security_number"),
    "US_ITIN": ("itin",),
    "SWIFT_CODE": ("swift", "bic"),
    "CVV": ("cvv", "cvc"),
    "PIN": ("pin",),
    "TICKET_NUMBER": ("ticket_number", "eticket"),
    "PASSPORT": ("passport", "passport_no"),
    "PASSPORT_MRZ": ("mrz",),
    "BOOKING_REFERENCE": ("pnr", "booking_ref"),
    "FREQUENT_FLYER": ("frequent_flyer", "ff_number"),
    "KNOWN_TRAVELER_NUMBER": ("known_traveler_number", "ktn"),
    "REDRESS_NUMBER": ("redress_number",),
    "PHONE_NUMBER": ("phone", "mobile"),
    "DATE_OF_BIRTH": ("dob", "date_of_birth"),
    "EMAIL_ADDRESS": ("email",),
    "PERSON": ("name", "full_name"),
    "ADDRESS": ("address",),
}

_JSON_TEMPLATES = (
    '{{"{key}": "{{v}}"}}',
    '{{"{key}":"{{v}}"}}',
    'here you go: {{"customer": {{"{key}": "{{v}}", "note": "please help"}}}}',
    '[{{"field": "{key}", "value": "{{v}}"}}]',
)
_URL_TEMPLATES = (
    "https://pay.example.com/checkout?{key}={{v}}&amount=20",
    "I filled in /account/update?{key}={{v}} and got an error",
    "https://example.com/form?lang=en&{key}={{v}}",
)


def json_key(kind: str, rng: random.Random) -> str:
    return rng.choice(_JSON_KEYS[kind])


def templates(kind: str, form: str, rng: random.Random) -> tuple[str, ...] | None:
    """Templates (with ``{v}``) that a form brings with it (JSON, URL), or None for the kind's own."""
    key = json_key(kind, rng)
    if form == "json":
        return tuple(t.format(key=key) for t in _JSON_TEMPLATES)
    if form in ("url_query", "percent_encoded"):
        return tuple(t.format(key=key) for t in _URL_TEMPLATES)
    if form == "email_percent_40":
        return (*(t.format(key=key) for t in _URL_TEMPLATES), "my email is {v}")
    return None


# --- rendering ----------------------------------------------------------------------------------


def _digit_words(digits: str, rng: random.Random) -> list[str]:
    return [rng.choice(("zero", "oh")) if d == "0" else _WORDS[int(d)] for d in digits]


def _pair_words(pair: str, rng: random.Random) -> list[str]:
    """'45' -> ['forty', 'five']; '05' -> ['oh', 'five']; '44' -> ['double', 'four'] (sometimes)."""
    a, b = pair
    if a == b and rng.random() < 0.5:
        return ["double", "oh" if a == "0" else _WORDS[int(a)]]
    if a == "0":
        return ["oh", _WORDS[int(b)]]
    if a == "1":
        return [_TEENS[int(b)]]
    if b == "0":  # 'seventy' then 'nine' would read as 79: people say 'seven oh nine'
        return [_WORDS[int(a)], "oh"]
    return [_TENS[int(a)], _WORDS[int(b)]]


def _spell(groups: Groups, rng: random.Random, grouped: bool) -> str:
    parts = []
    for g in groups:
        words: list[str] = []
        run = ""
        for ch in g + " ":  # letters stay letters, each digit run is read out
            if ch.isdigit():
                run += ch
                continue
            if run:
                if grouped:
                    i = 0
                    while i < len(run):
                        words += _pair_words(run[i:i + 2], rng) if i + 1 < len(run) else _digit_words(run[i], rng)
                        i += 2
                else:
                    words += _digit_words(run, rng)
                run = ""
            if ch != " ":
                words.append(ch)
        parts.append(" ".join(words))
    return rng.choice((" ", ", ")).join(parts)


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


def render(kind: str, form: str, value: str, groups: Groups, rng: random.Random) -> str | None:
    """``value`` written in ``form``, or None when the form cannot disguise this value (the caller
    makes another value)."""
    groups = [g for g in groups if g]
    spaced = rng.random() < 0.5
    if form == "underscores":
        return "_".join(groups) if len(groups) > 1 else "_".join(value)
    if form == "commas":
        return ",".join(groups) if len(groups) > 1 else ",".join(value)
    if form == "newlines":
        return rng.choice(("\n", "\r\n")).join(groups) if len(groups) > 1 else "\n".join(value)
    if form == "tabs":
        return "\t".join(groups) if len(groups) > 1 else "\t".join(value)
    if form == "four_spaces":
        return "    ".join(groups) if len(groups) > 1 else "    ".join(value)
    if form == "every_char_spaced":
        return " ".join(value.replace("<", ""))
    if form == "nul_bytes":
        if kind == "PASSPORT_MRZ":
            return "\x00".join(groups)
        if kind == "EMAIL_ADDRESS":
            return value.replace("@", "\x00@\x00").replace(".", "\x00.")
        return "\x00".join(groups) if len(groups) > 1 else "\x00".join(value)
    if form == "and_then":
        if len(groups) < 2:
            groups = list(value)
        cut = len(groups) // 2
        return " ".join(groups[:cut]) + rng.choice((" and then ", ", and then ", " then ")) + " ".join(groups[cut:])
    if form in DIGIT_SCRIPT_FORMS:
        if not _has_digit(value):
            return None
        script = form if form != "other_digits" else rng.choice(_OTHER_SCRIPTS)
        base = _DIGIT_BASES[script]
        text = " ".join(groups) if spaced else "".join(groups)
        if kind == "DATE_OF_BIRTH":
            text = "/".join(groups)
        return "".join(chr(base + int(c)) if c.isdigit() else c for c in text)
    if form in WORD_FORMS:
        if not _has_digit(value):
            return None
        return _spell(groups, rng, grouped=form == "spelled_grouped")
    if form == "letter_o_l":
        if not any(c in "01" for c in value):
            return None
        one = rng.choice(("l", "I"))
        text = " ".join(groups) if spaced else "".join(groups)
        return "".join("O" if c == "0" else one if c == "1" else c for c in text)
    if form == "homoglyphs":
        table = _CYRILLIC if rng.random() < 0.7 else _GREEK
        text = value if kind in ("PERSON", "EMAIL_ADDRESS", "PASSPORT_MRZ") or not spaced else " ".join(groups)
        if kind == "PASSPORT_MRZ":
            text = "\n".join(groups)
        where = [i for i, c in enumerate(text) if c in table]
        if not where:
            return None
        chosen = set(rng.sample(where, max(1, len(where) // 2)))
        return "".join(table[c] if i in chosen else c for i, c in enumerate(text))
    if form == "json":
        return "".join(groups) if kind not in ("PERSON", "EMAIL_ADDRESS", "ADDRESS", "DATE_OF_BIRTH", "PASSPORT_MRZ") else (
            "/".join(groups) if kind == "DATE_OF_BIRTH" else groups[-1] if kind == "PASSPORT_MRZ" else value)
    if form == "url_query":
        if kind == "DATE_OF_BIRTH":
            return "-".join(groups)
        return value if kind in ("EMAIL_ADDRESS",) else "".join(groups)
    if form == "percent_encoded":
        text = value if kind in ("PERSON", "ADDRESS") else " ".join(groups)
        if kind in ("PERSON", "ADDRESS") or rng.random() < 0.5:
            return urllib.parse.quote(text)  # spaces as %20, the rest readable
        return "".join(f"%{b:02X}" for b in text.encode())  # every byte encoded
    if form == "combining_mark":
        positions = [i for i, c in enumerate(value) if c.isdigit()]
        if len(positions) < 2:
            return None
        mark = rng.choice(_MARKS)
        chosen = set(rng.sample(positions[:-1], max(1, len(positions) // 4)))
        text = "".join(c + mark if i in chosen else c for i, c in enumerate(value))
        if kind == "DATE_OF_BIRTH":
            return "/".join(_regroup(text, [len(g) for g in groups], mark))
        return text
    if form == "nfd_accents":
        return unicodedata.normalize("NFD", value)
    if form in EMAIL_FORMS:
        local, domain = value.split("@")
        if form == "email_spaced_at":
            return local + rng.choice((" @ ", " @", "@ ", "  @  ")) + domain
        if form == "email_bracket_at_dot":
            at, dot = rng.choice(((" [at] ", " [dot] "), ("[at]", "[dot]"), (" {at} ", " {dot} "), (" <at> ", " <dot> ")))
            return local.replace(".", dot) + at + domain.replace(".", dot)
        if form == "email_paren_at":
            at, dot = rng.choice((("(at)", "."), (" (at) ", " (dot) "), ("(at)", "(dot)")))
            return local + at + domain.replace(".", dot)
        if form == "email_at_dot_words":
            at, dot = rng.choice(((" at ", " dot "), (" AT ", " DOT "), (" at ", ".")))
            return local.replace(".", dot) + at + domain.replace(".", dot)
        return local + "%40" + domain
    raise ValueError(f"unknown obfuscated form {form!r}")


def _regroup(text: str, sizes: Sequence[int], mark: str) -> list[str]:
    """Split ``text`` (digits, some followed by ``mark``) into groups of ``sizes`` digits."""
    out: list[str] = []
    cur, n, i = "", 0, 0
    while i < len(text):
        cur += text[i]
        n += 1
        i += 1
        while i < len(text) and text[i] == mark:  # a mark stays with its digit
            cur += text[i]
            i += 1
        if len(out) < len(sizes) - 1 and n == sizes[len(out)]:
            out.append(cur)
            cur, n = "", 0
    out.append(cur)
    return out


# --- the oracle's de-obfuscation ----------------------------------------------------------------

_NUMBER_WORDS: dict[str, str] = {w: str(i) for i, w in enumerate(_WORDS)}
_NUMBER_WORDS.update({w: str(10 + i) for i, w in enumerate(_TEENS)})
_NUMBER_WORDS.update({"oh": "0", "o": "0", "nought": "0"})
_TENS_WORDS = {w: str(i) for i, w in enumerate(_TENS) if w}
_WORD = re.compile(r"[a-z]+")


def _words_to_digits(s: str) -> str:
    """'forty five oh two' -> '4502' (number words only; everything else untouched)."""

    def tens(m: re.Match[str]) -> str:
        t, u = m.group(1), m.group(2)
        return _TENS_WORDS[t] + (_NUMBER_WORDS[u] if u else "0")

    s = re.sub(r"\b(" + "|".join(_TENS_WORDS) + r")(?:[\s\-]+(one|two|three|four|five|six|seven|eight|nine))?\b", tens, s)
    s = re.sub(r"\bdouble[\s\-]+(" + "|".join(_NUMBER_WORDS) + r")\b", lambda m: _NUMBER_WORDS[m.group(1)] * 2, s)
    return _WORD.sub(lambda m: _NUMBER_WORDS.get(m.group(0), m.group(0)), s)


def _lookalike_digits(s: str) -> str:
    """'4lll O111' -> '4111 0111': O, o, l, I inside a token that holds digits."""
    def fold(m: re.Match[str]) -> str:
        tok = m.group(0)
        if not any(c.isdigit() for c in tok):
            return tok
        return "".join("0" if c in "Oo" else "1" if c in "lI" else c for c in tok)

    return re.sub(r"[0-9OolI]+", fold, s)


def reveal(s: str) -> str:
    """Undo every obfuscated form (for the leak check): NFKC with marks removed, any decimal
    digit as ASCII, look-alike letters as Latin, percent and JSON escapes decoded, number words
    as digits, O/l/I next to digits as 0/1; case-folded."""
    s = urllib.parse.unquote(s)
    s = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), s)
    s = unicodedata.normalize("NFKD", s)
    out = []
    for ch in s:
        if ch in "\t\n\r\x0b\x0c":
            out.append(" ")
            continue
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cc", "Cf"):
            continue
        if unicodedata.category(ch) == "Nd":
            out.append(str(unicodedata.digit(ch)))
            continue
        out.append(_UNCONFUSE.get(ch, ch))
    s = _words_to_digits(_lookalike_digits("".join(out)).casefold())
    return re.sub(r"(?<=\d)[\s,]*(?:and\s+)?then[\s,]*(?=\d)", " ", s)
