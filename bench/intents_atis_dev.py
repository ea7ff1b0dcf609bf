"""ATIS: what the errors are and which head to use, on the dev split and train CV only.

Run:  .venv/bin/python bench/intents_atis_dev.py [--only errors|heads|segments] [--folds 5]

Never opens the test split (``atis()`` below refuses it). Three parts:

* ``errors``: the shipped configuration (TF-IDF + MiniLM int8, LinearSVC, each multi-intent
  combination a class) trained on train; every dev error, with its kind: multi-intent gold,
  gold label absent from training, or a single-intent confusion.
* ``heads``: other heads over the same features, scored on dev (500) and by 5-fold
  cross-validation on train (4,478, out-of-fold): LinearSVC C, class weights, Crammer-Singer,
  multinomial logistic regression, one-vs-rest logistic parts with a probability threshold
  (multi-intents as parts, joined), and a coordination feature (the content words either side
  of "and" as one extra token, ``flights and their fares`` -> ``coordxflightsxfares``).
* ``segments``: multi-intents from clauses: the text split at "and", each clause classified by
  the same model, the distinct clause intents (decision margin >= m) joined in the order they
  are mentioned (the order ATIS annotators write multi-intent labels in), accepted when the
  whole-text prediction is one of them.

Exact-match accuracy of the whole label (``atis_flight#atis_airfare`` must be predicted as that
string), as in the published baselines (monologg/JointBERT compares label ids; a label absent
from training is UNK there and can never be right).

Slow on the shared 2-core machine: every head is 6 fits (dev + 5 folds), about 2 minutes at a
load average of 10.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np

from safebot.nlu.encoder import get_encoder
from safebot.nlu.features import Featuriser, prepare_text
from safebot.nlu.placeholders import normalise_placeholders

DATA = Path(os.environ.get("SAFEBOT_BENCH_DATA", "/work/shared/data"))
Pairs = list[tuple[str, str]]
Head = Callable[[Any, list[str], Any], list[str]]  # (x_fit, y_fit, x_eval) -> labels


def atis(split: str) -> Pairs:
    if split not in ("train", "dev"):
        raise ValueError("this script selects on train and dev only; bench/intents.py scores test")
    folder = DATA / "atis" / split
    texts = (folder / "seq.in.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / "label.txt").read_text(encoding="utf-8").splitlines()
    return list(zip(texts, labels, strict=True))


class Cache:
    """Embeddings of every text seen, encoded once (int8, one sentence per run)."""

    def __init__(self) -> None:
        self._enc = get_encoder("int8")
        self._rows: dict[str, Any] = {}

    def __call__(self, texts: list[str]) -> Any:
        missing = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if missing:
            rows = self._enc.encode([normalise_placeholders(t) for t in missing])
            self._rows.update(zip(missing, rows, strict=True))
        return np.stack([self._rows[t] for t in texts])


# -- heads --------------------------------------------------------------------------------------
def svm(c: float = 0.5, **kw: Any) -> Head:
    from sklearn.svm import LinearSVC

    def head(x: Any, y: list[str], xe: Any) -> list[str]:
        return [str(p) for p in LinearSVC(C=c, random_state=0, **kw).fit(x, y).predict(xe)]

    return head


def logreg(c: float = 10.0) -> Head:
    from sklearn.linear_model import LogisticRegression

    def head(x: Any, y: list[str], xe: Any) -> list[str]:
        return [str(p) for p in LogisticRegression(C=c, max_iter=2000).fit(x, y).predict(xe)]

    return head


def parts_logreg(c: float = 10.0, threshold: float = 0.5) -> Head:
    """One-vs-rest logistic regression per part; every part with P >= threshold (at least the
    best one), joined in the order the combination had in training, else most frequent first.
    With calibrated, independent parts, P >= 0.5 is the exact-match Bayes rule."""
    from sklearn.linear_model import LogisticRegression

    def head(x: Any, y: list[str], xe: Any) -> list[str]:
        parts = sorted({p for label in y for p in label.split("#")})
        freq = {p: sum(p in label.split("#") for label in y) for p in parts}
        seen = {frozenset(label.split("#")): label for label in y}
        prob = np.zeros((xe.shape[0], len(parts)))
        for j, part in enumerate(parts):
            target = np.array([part in label.split("#") for label in y])
            lr = LogisticRegression(C=c, max_iter=2000).fit(x, target)
            prob[:, j] = lr.predict_proba(xe)[:, 1]
        out = []
        for row in prob:
            chosen = [parts[j] for j in np.argsort(-row)[:3] if row[j] >= threshold]
            chosen = chosen or [parts[int(row.argmax())]]
            key = frozenset(chosen)
            out.append(seen.get(key) or "#".join(sorted(chosen, key=lambda p: -freq[p])))
        return out

    return head


_SKIP = {"the", "their", "its", "all", "also", "of", "me", "a", "an", "what", "how", "much"}
_SKIP |= {"show", "list", "give", "tell"}


def with_coordination(text: str) -> str:
    """``text`` plus one token per "and": the nearest content words either side of it."""
    toks = text.split()
    extra = []
    for i, w in enumerate(toks):
        if w != "and":
            continue
        j, k = i - 1, i + 1
        while j >= 0 and toks[j] in _SKIP:
            j -= 1
        while k < len(toks) and toks[k] in _SKIP:
            k += 1
        if j >= 0 and k < len(toks):
            extra.append(f"coordx{toks[j]}x{toks[k]}")
    return " ".join([text, *extra])


# -- evaluation ---------------------------------------------------------------------------------
def splits(folds: int) -> list[tuple[str, Pairs, Pairs]]:
    train = atis("train")
    out = [("dev", train, atis("dev"))]
    order = list(range(len(train)))
    random.Random(0).shuffle(order)
    for k in range(folds):
        held = set(order[k::folds])
        out.append(
            (
                "cv",
                [train[i] for i in range(len(train)) if i not in held],
                [train[i] for i in sorted(held)],
            )
        )
    return out


def features(
    fit: Pairs, evals: Pairs, embed: Cache, prep: Callable[[str], str] = prepare_text
) -> tuple[Featuriser, Any, Any]:
    feat = Featuriser(2.0).fit([prep(t) for t, _ in fit])
    x = feat.transform([prep(t) for t, _ in fit], embed([t for t, _ in fit]))
    xe = feat.transform([prep(t) for t, _ in evals], embed([t for t, _ in evals]))
    return feat, x, xe


def score(rows: list[tuple[str, str, str]]) -> str:
    ok = sum(y == p for _, y, p in rows)
    multi = [(y, p) for _, y, p in rows if "#" in y]
    wrong_multi = sum("#" in p and p != y for _, y, p in rows)
    return (
        f"{ok / len(rows):.2%} ({len(rows) - ok} errors; multi-intent golds right "
        f"{sum(y == p for y, p in multi)}/{len(multi)}; wrong multi-intent predictions {wrong_multi})"
    )


def run_head(
    name: str, head: Head, embed: Cache, folds: int, prep: Callable[[str], str] = prepare_text
) -> dict[str, list[tuple[str, str, str]]]:
    res: dict[str, list[tuple[str, str, str]]] = {"dev": [], "cv": []}
    for key, fit, evals in splits(folds):
        _, x, xe = features(fit, evals, embed, prep)
        pred = head(x, [y for _, y in fit], xe)
        res[key] += [(t, y, p) for (t, y), p in zip(evals, pred, strict=True)]
    print(f"| {name} | {score(res['dev'])} | {score(res['cv'])} |", flush=True)
    return res


def run_errors(embed: Cache) -> None:
    train, dev = atis("train"), atis("dev")
    seen = {y for _, y in train}
    _, x, xe = features(train, dev, embed)
    pred = svm()(x, [y for _, y in train], xe)
    print("\n### Dev errors of the shipped configuration\n")
    print("| gold | predicted | kind | text |\n|---|---|---|---|")
    for (t, y), p in zip(dev, pred, strict=True):
        if p != y:
            kind = "multi-intent" if "#" in y else "single-intent"
            if y not in seen:
                kind += ", absent from training"
            print(f"| {y} | {p} | {kind} | {t} |")
    print(f"\n{score([(t, y, p) for (t, y), p in zip(dev, pred, strict=True)])}")


def run_heads(embed: Cache, folds: int) -> None:
    print("\n### Heads over the same features (dev 500 / train 5-fold CV 4,478)\n")
    print("| head | dev | train CV |\n|---|---|---|")
    heads: list[tuple[str, Head]] = [
        ("LinearSVC C 0.5, combinations as classes (shipped)", svm(0.5)),
        ("LinearSVC C 1", svm(1.0)),
        ("LinearSVC C 2", svm(2.0)),
        ("LinearSVC C 0.5, class_weight balanced", svm(0.5, class_weight="balanced")),
        ("LinearSVC C 0.5, Crammer-Singer", svm(0.5, multi_class="crammer_singer")),
        ("logistic regression C 10", logreg(10.0)),
        ("logistic regression C 100", logreg(100.0)),
        ("parts: one-vs-rest logistic C 10, P >= 0.5", parts_logreg(10.0, 0.5)),
        ("parts: one-vs-rest logistic C 10, P >= 0.3", parts_logreg(10.0, 0.3)),
    ]
    for name, head in heads:
        run_head(name, head, embed, folds)
    run_head(
        "LinearSVC C 0.5 + coordination token",
        svm(0.5),
        embed,
        folds,
        prep=lambda t: prepare_text(with_coordination(t)),
    )


def run_segments(embed: Cache, folds: int, margins: tuple[float, ...]) -> None:
    from sklearn.svm import LinearSVC

    print("\n### Multi-intents from clauses split at 'and' (dev / train CV)\n")
    print("| clause margin | dev | train CV |\n|---|---|---|")
    res: dict[float, dict[str, list[tuple[str, str, str]]]] = {
        m: {"dev": [], "cv": []} for m in margins
    }
    for key, fit, evals in splits(folds):
        feat, x, xe = features(fit, evals, embed)
        svm_ = LinearSVC(C=0.5, random_state=0).fit(x, [y for _, y in fit])
        classes = [str(c) for c in svm_.classes_]
        base = [str(p) for p in svm_.predict(xe)]
        for m in margins:
            for (t, y), b in zip(evals, base, strict=True):
                res[m][key].append((t, y, b))
        for i, (t, _) in enumerate(evals):
            clauses = [c.strip() for c in re.split(r"\band\b", t) if c.strip()]
            if len(clauses) < 2 or "#" in base[i]:
                continue
            xc = feat.transform([prepare_text(c) for c in clauses], embed(clauses))
            dec = svm_.decision_function(xc)
            top2 = np.argsort(-dec, axis=1)[:, :2]
            for m in margins:
                parts: list[str] = []
                for row, (a, b) in zip(dec, top2, strict=True):
                    if row[a] - row[b] >= m:
                        parts += [p for p in classes[a].split("#") if p not in parts]
                if len(parts) >= 2 and base[i] in parts:
                    t_, y_, _ = res[m][key][-len(evals) + i]
                    res[m][key][-len(evals) + i] = (t_, y_, "#".join(parts))
    for m in margins:
        print(f"| {m} | {score(res[m]['dev'])} | {score(res[m]['cv'])} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="errors,heads,segments")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # liblinear / lbfgs convergence chatter
    embed = Cache()
    for part in args.only.split(","):
        if part == "errors":
            run_errors(embed)
        elif part == "heads":
            run_heads(embed, args.folds)
        elif part == "segments":
            run_segments(embed, args.folds, (0.0, 0.5, 1.0))
        else:
            raise SystemExit(f"error: unknown part {part!r}")
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n(load average at the end: {load})")


if __name__ == "__main__":
    main()
