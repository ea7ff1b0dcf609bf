"""Intent-classification benchmarks: BANKING77, CLINC150 (with out-of-scope), ATIS.

Run:  .venv/bin/python bench/intents.py [--only banking77,clinc150,atis|atis-select|latency]
                                        [--sparse] [--precision int8|fp32]

Prints a markdown table of our figures beside the published baselines in
/work/shared/data/BASELINES.md. Every threshold and hyper-parameter is chosen on a train
hold-out or an official validation split; test splits are only ever scored.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from safebot.nlu import ClassifierConfig, IntentClassifier
from safebot.nlu.encoder import DEFAULT_PRECISION, encoder_available, get_encoder

DATA = Path(os.environ.get("SAFEBOT_BENCH_DATA", "/work/shared/data"))
OUT = Path(__file__).resolve().parent / "out"  # git-ignored
Pairs = list[tuple[str, str]]


def banking77(split: str) -> Pairs:
    with open(DATA / "banking77" / f"{split}.csv", newline="", encoding="utf-8") as fh:
        return [(r["text"], r["category"]) for r in csv.DictReader(fh)]


def atis(split: str) -> Pairs:
    folder = DATA / "atis" / split
    texts = (folder / "seq.in.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / "label.txt").read_text(encoding="utf-8").splitlines()
    return list(zip(texts, labels, strict=True))


def clinc150() -> dict[str, Pairs]:
    raw = json.loads((DATA / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return {k: [(t, lab) for t, lab in v] for k, v in raw.items()}


class CachingEncoder:
    """Wraps the shared encoder so evaluation sets are encoded once per run, not per metric.

    Training always encodes for real (each text is new to the cache at that point), and the
    cache is switched off while latency is measured.
    """

    def __init__(self, precision: str) -> None:
        self._inner = get_encoder(precision)  # type: ignore[arg-type]
        self.name, self.dim = self._inner.name, self._inner.dim
        self.enabled = True
        self._cache: dict[str, Any] = {}

    def encode(self, texts: list[str]) -> Any:
        import numpy as np

        if not self.enabled:
            return self._inner.encode(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            self._cache.update(zip(missing, self._inner.encode(missing), strict=True))
        return np.stack([self._cache[t] for t in texts]) if texts else self._inner.encode([])


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def closed_set_accuracy(clf: IntentClassifier, pairs: Pairs) -> tuple[float, float]:
    """(accuracy of the top intent ignoring the out-of-scope check, accuracy with it on)."""
    preds = clf.predict_many([t for t, _ in pairs])
    best = clf.best_intents([t for t, _ in pairs])
    top = sum(b == y for b, (_, y) in zip(best, pairs, strict=True))
    gated = sum(p.intent == y for p, (_, y) in zip(preds, pairs, strict=True))
    return top / len(pairs), gated / len(pairs)


def _percentiles(clf: IntentClassifier, texts: list[str]) -> tuple[float, ...]:
    """Wall-clock p50/p99, then the calling thread's CPU time p50/p99, in ms.

    One-sentence encoding and the k-NN run in the calling thread (one intra-op thread), so
    its CPU time is the work done; the wall clock adds the time spent waiting for a core,
    which on this shared machine depends on everyone else's load.
    """
    wall, cpu = [], []
    for t in texts:
        start, start_cpu = time.perf_counter(), time.thread_time()
        clf.predict(t)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
    out: list[float] = []
    for times in (wall, cpu):
        times.sort()
        out += [statistics.median(times), times[int(0.99 * (len(times) - 1))]]
    return tuple(out)


def latency(clf: IntentClassifier, texts: list[str], n: int = 300) -> dict[str, float]:
    """One-sentence predict() latency in ms: p50/p99 end to end (encoder cache off), and
    p50/p99 of everything but the encoder (sentences pre-encoded through the cache).

    The second pair is the part safebot's own code controls; it is reported because this
    machine is shared and the end-to-end figure moves with other processes' load.
    """
    sample = (texts * (n // max(len(texts), 1) + 1))[:n]
    enc = getattr(clf, "_encoder", None)
    caching = isinstance(enc, CachingEncoder)
    if caching:
        enc.enabled = False
    for t in sample[:20]:
        clf.predict(t)  # warm-up
    load = os.getloadavg()[0]
    p50, p99, cpu50, cpu99 = _percentiles(clf, sample)
    out = {"p50": p50, "p99": p99, "cpu_p50": cpu50, "cpu_p99": cpu99}
    out["load"] = max(load, os.getloadavg()[0])
    if caching:
        enc.enabled = True
        clf.predict_many(sample)  # fills the cache
        out["rest_p50"], out["rest_p99"], _, _ = _percentiles(clf, sample)
    return out


def latency_cell(lat: dict[str, float]) -> str:
    rest = ""
    if "rest_p50" in lat:
        rest = f"; without the encoder: {lat['rest_p50']:.1f} / {lat['rest_p99']:.1f} ms"
    return (
        f"**{lat['p50']:.1f} / {lat['p99']:.1f} ms** (1-min load {lat['load']:.1f}; thread CPU "
        f"time {lat['cpu_p50']:.1f} / {lat['cpu_p99']:.1f} ms{rest})"
    )


def timed_train(
    pairs: Pairs, oos: list[str], encoder: Any, config: ClassifierConfig | None = None
) -> tuple[IntentClassifier, float, float]:
    log(f"training on {len(pairs)} examples + {len(oos)} out-of-scope")
    start, start_cpu = time.perf_counter(), time.process_time()
    clf = IntentClassifier.train(
        pairs, out_of_scope=oos, config=config or ClassifierConfig(), encoder=encoder
    )
    return clf, time.perf_counter() - start, time.process_time() - start_cpu


def run_banking77(encoder: Any, rows: list[list[str]]) -> None:
    clf, secs, cpu_secs = timed_train(banking77("train"), [], encoder)
    test = banking77("test")
    top, gated = closed_set_accuracy(clf, test)
    OUT.mkdir(parents=True, exist_ok=True)
    clf.save(_saved_model(encoder))  # for --only latency re-runs
    lat = latency(clf, [t for t, _ in test[:300]])
    rows.append(
        [
            "BANKING77",
            "accuracy (test, 3,080)",
            f"**{top:.2%}**",
            "BERT-Large tuned 93.66; USE+ConveRT 93.36; TF-IDF+LinearSVC 91.17 (ours, unpublished)",
            ">= 94.0%",
        ]
    )
    rows.append(
        ["BANKING77", "accuracy with OOS check on (rejected = wrong)", f"{gated:.2%}", "n/a", ""]
    )
    rows.append(
        [
            "BANKING77",
            "training time (10,003 texts, incl. encoding and threshold selection)",
            f"**{secs:.1f} s** (CPU {cpu_secs:.1f} s)",
            "n/a",
            "<= 120 s",
        ]
    )
    rows.append(
        [
            "BANKING77",
            "predict() latency, one sentence, p50 / p99",
            latency_cell(lat),
            "n/a",
            "p50 <= 8 ms, p99 <= 15 ms",
        ]
    )
    op = clf.operating_point
    rows.append(
        [
            "BANKING77",
            "internal hold-out operating point (threshold / false rejects)",
            f"{op.threshold:.3f} / {op.false_reject_rate:.2%}",
            "",
            "",
        ]
    )


def run_clinc150(encoder: Any, rows: list[list[str]]) -> None:
    d = clinc150()
    clf, secs, cpu_secs = timed_train(d["train"], [t for t, _ in d["oos_train"]], encoder)
    oos_test = [t for t, _ in d["oos_test"]]
    internal = clf.evaluate_operating_point(d["test"], oos_test)
    val_point = clf.choose_operating_point(d["val"], [t for t, _ in d["oos_val"]])
    test_point = clf.evaluate_operating_point(d["test"], oos_test)
    top, _ = closed_set_accuracy(clf, d["test"])
    assert test_point.in_scope_accuracy is not None and test_point.oos_recall is not None
    assert val_point.in_scope_accuracy is not None and val_point.oos_recall is not None
    rows.append(
        [
            "CLINC150 full",
            "in-scope acc / OOS recall (test + oos_test), threshold chosen on val",
            f"**{test_point.in_scope_accuracy:.2%} / {test_point.oos_recall:.2%}**",
            "BERT oos-threshold 96.2 / 52.3; BERT oos-train 96.9 / 40.3; MLP-USE 93.5 / 47.4; Rasa 91.5 / 45.3",
            ">= 95% / >= 80%",
        ]
    )
    rows.append(
        [
            "CLINC150 full",
            "operating point: threshold; on val: in-scope acc / OOS recall / in-scope rejected",
            f"{val_point.threshold:.3f}; {val_point.in_scope_accuracy:.2%} / {val_point.oos_recall:.2%} / {val_point.false_reject_rate:.2%}",
            "",
            "",
        ]
    )
    rows.append(
        [
            "CLINC150 full",
            "same, threshold from train()'s own hold-out instead (test)",
            f"{internal.in_scope_accuracy:.2%} / {internal.oos_recall:.2%}",
            "",
            "",
        ]
    )
    rows.append(
        ["CLINC150 full", "in-scope accuracy before OOS handling (test)", f"{top:.2%}", "", ""]
    )
    rows.append(
        [
            "CLINC150 full",
            "training time (15,100 texts)",
            f"{secs:.1f} s (CPU {cpu_secs:.1f} s)",
            "",
            "",
        ]
    )


#: ATIS writes multi-intent labels as ``atis_flight#atis_airfare``. With this config they are
#: learnt as parts (safebot.nlu.multi_intent); with the default config ("+") each combination
#: is a class of its own.
ATIS_CONFIG = ClassifierConfig(intent_split_symbol="#")


def run_atis(encoder: Any, rows: list[list[str]]) -> None:
    test = atis("test")
    for name, config in (("combinations as classes", ClassifierConfig()), ("parts", ATIS_CONFIG)):
        clf, secs, cpu_secs = timed_train(atis("train"), [], encoder, config)
        dev_top, _ = closed_set_accuracy(clf, atis("dev"))
        top, gated = closed_set_accuracy(clf, test)
        best = clf.best_intents([t for t, _ in test])
        multi = [(b, y) for b, (_, y) in zip(best, test, strict=True) if "#" in y]
        rows.append(
            [
                f"ATIS ({name})",
                "intent accuracy (test, 893; multi-label = exact string match)",
                f"**{top:.2%}**",
                (
                    "Joint BERT 97.5; Stack-Prop 96.9; Slot-Gated 94.1; "
                    "TF-IDF+LinearSVC 95.30 (ours, unpublished)"
                ),
                ">= 97%",
            ]
        )
        rows.append([f"ATIS ({name})", "accuracy with OOS check on", f"{gated:.2%}", "", ""])
        rows.append([f"ATIS ({name})", "intent accuracy (dev, 500)", f"{dev_top:.2%}", "", ""])
        rows.append(
            [
                f"ATIS ({name})",
                "multi-intent test labels predicted exactly / multi-intents predicted",
                f"{sum(b == y for b, y in multi)} of {len(multi)} / {sum('#' in b for b in best)}",
                "",
                "",
            ]
        )
        rows.append(
            [
                f"ATIS ({name})",
                "training time (4,478 texts)",
                f"{secs:.1f} s (CPU {cpu_secs:.1f} s)",
                "",
                "",
            ]
        )


ATIS_THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)


def run_atis_select(encoder: Any, rows: list[list[str]]) -> None:
    """How the multi-intent threshold was chosen: 5-fold cross-validation on ATIS train only
    (exact-match accuracy), beside the plain multi-class model. The test split is not read."""
    import dataclasses
    import random

    train = atis("train")
    order = list(range(len(train)))
    random.Random(0).shuffle(order)
    folds = [order[k::5] for k in range(5)]
    scores: dict[str, list[float]] = {}
    for k, held in enumerate(folds):
        held_set = set(held)
        fit = [train[i] for i in order if i not in held_set]
        val = [train[i] for i in held]
        log(f"fold {k + 1}/5")
        plain = IntentClassifier.train(
            fit, config=dataclasses.replace(ATIS_CONFIG, intent_split_symbol=""), encoder=encoder
        )
        scores.setdefault("multi-class (combinations as classes)", []).append(
            closed_set_accuracy(plain, val)[0]
        )
        parts = IntentClassifier.train(fit, config=ATIS_CONFIG, encoder=encoder)
        for tau in (*ATIS_THRESHOLDS, float("inf")):
            parts.config = dataclasses.replace(ATIS_CONFIG, multi_intent_threshold=tau)
            name = "parts, best part only" if tau == float("inf") else f"parts, threshold {tau}"
            scores.setdefault(name, []).append(closed_set_accuracy(parts, val)[0])
    for name, values in scores.items():
        mean = sum(values) / len(values)
        rows.append(["ATIS train 5-fold CV", name, f"{mean:.2%}", "", ""])


_PRECISION = DEFAULT_PRECISION


def _saved_model(encoder: Any) -> Path:
    return OUT / (f"banking77-{_PRECISION}.npz" if encoder is not None else "banking77-sparse.npz")


def run_latency_only(encoder: Any, rows: list[list[str]]) -> None:
    """Re-measure latency on the model saved by the last BANKING77 run (no training)."""
    clf = IntentClassifier.load(_saved_model(encoder), encoder=encoder)
    lat = latency(clf, [t for t, _ in banking77("test")[:300]])
    rows.append(
        [
            "BANKING77",
            "predict() latency, one sentence, p50 / p99",
            latency_cell(lat),
            "n/a",
            "p50 <= 8 ms, p99 <= 15 ms",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default="banking77,clinc150,atis",
        help="comma-separated subset; 'latency' re-measures the saved BANKING77 model",
    )
    parser.add_argument("--sparse", action="store_true", help="TF-IDF only (no sentence encoder)")
    parser.add_argument(
        "--precision",
        choices=("int8", "fp32"),
        default=DEFAULT_PRECISION,
        help=f"encoder weights (default {DEFAULT_PRECISION})",
    )
    args = parser.parse_args()
    global _PRECISION
    _PRECISION = args.precision
    encoder: Any = None
    if not args.sparse and encoder_available():
        encoder = CachingEncoder(args.precision)
    runners = {
        "banking77": run_banking77,
        "clinc150": run_clinc150,
        "atis": run_atis,
        "atis-select": run_atis_select,
        "latency": run_latency_only,
    }
    rows: list[list[str]] = []
    for name in args.only.split(","):
        log(name)
        runners[name.strip()](encoder, rows)
        log(" | ".join(rows[-1]))
    mode = "TF-IDF only" if args.sparse else f"TF-IDF + MiniLM (ONNX Runtime, {args.precision})"
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n### Intent benchmarks ({mode}, CPU, {os.cpu_count()} cores, load avg {load})\n")
    print("| Dataset | Metric | safebot | Published baselines | Target |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
