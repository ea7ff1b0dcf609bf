"""Out-of-scope detection: one score per text, one threshold chosen on held-out data.

The score adds three signals that fail differently:

* ``top``: the best in-scope decision value of the linear model (low when no intent fits);
* ``knn``: mean cosine similarity to the ``k`` nearest in-scope training examples (in embedding
  space, or TF-IDF space without the encoder); low for text unlike anything seen;
* ``oos``: the decision value of the out-of-scope class, present only when out-of-scope
  examples were given to ``train``; subtracted.

``score = top + knn_weight * knn - oos_weight * oos``. The weights were chosen on the CLINC150
validation split (never its test split); see docs/benchmarks-intents.md.

The threshold is the in-scope rejection budget: the highest threshold that rejects at most
``false_reject_rate`` of held-out in-scope examples. A bank would rather answer "sorry, I can
only help with ..." than start the wrong flow, but turning away customers with a valid request
is costly too; the budget makes that trade explicit and needs no out-of-scope examples (which
a bot author rarely has many of; their job is to teach the model, through the ``oos`` class).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import scipy.sparse as sp

__all__ = ["OosWeights", "OperatingPoint", "choose_threshold", "fit_temperature", "knn_similarity"]


@dataclass(frozen=True)
class OosWeights:
    """How the three signals are combined into one score."""

    knn: float = 2.0
    oos: float = 0.5
    k: int = 5


@dataclass(frozen=True)
class OperatingPoint:
    """A chosen threshold and what it did on the data it was chosen on."""

    threshold: float
    scale: float  # spread of in-scope scores; turns score - threshold into an in-scope probability
    in_scope_accuracy: float | None = None  # correct intent and not rejected, over in-scope
    false_reject_rate: float | None = None  # in-scope examples rejected
    oos_recall: float | None = None  # out-of-scope examples rejected; None when there were none


def knn_similarity(
    queries: npt.NDArray[np.float32] | sp.csr_matrix,
    refs: npt.NDArray[np.float32] | sp.csr_matrix,
    k: int,
) -> npt.NDArray[np.float64]:
    """Mean cosine similarity of each (unit-norm) query row to its ``k`` nearest (unit-norm) refs."""
    import numpy as np
    import scipy.sparse as sp

    if sp.issparse(refs):
        # Sparse refs times a dense block of queries walks each stored value once; a sparse x
        # sparse product would build a transposed copy of the refs on every call.
        blocks = []
        for start in range(0, queries.shape[0], 64):
            block = sp.csr_matrix(queries[start : start + 64]).toarray()
            blocks.append(np.asarray(refs @ block.T).T)
        sims = np.vstack(blocks) if blocks else np.zeros((0, refs.shape[0]))
    elif queries.shape[0] <= 8:
        # One sentence against ~10k rows is a memory-bound matrix-vector product: splitting it
        # across BLAS threads only adds waiting (11 ms vs 4.5 ms measured on a busy 2-core box).
        with _blas_controller().limit(limits=1, user_api="blas"):
            sims = queries @ refs.T
    else:
        sims = queries @ refs.T
    sims = np.asarray(sims, dtype=np.float64)
    k = max(1, min(k, sims.shape[1]))
    top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
    return np.asarray(top.mean(axis=1), dtype=np.float64)


_controller: Any = None


def _blas_controller() -> Any:
    """threadpoolctl's controller, built once (it scans the loaded libraries)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def choose_threshold(
    scores_in: npt.NDArray[np.float64],
    correct_in: npt.NDArray[np.bool_],
    scores_oos: npt.NDArray[np.float64],
    false_reject_rate: float,
) -> OperatingPoint:
    """Pick the threshold for an in-scope rejection budget (see the module docstring).

    ``scores_oos`` only serves to report the out-of-scope recall at that threshold.

    >>> import numpy as np
    >>> op = choose_threshold(np.array([4.0, 1.0, 2.0, 3.0]), np.ones(4, bool), np.array([0.0]), 0.25)
    >>> op.threshold, op.false_reject_rate, op.oos_recall
    (1.5, 0.25, 1.0)
    """
    import numpy as np

    ordered = np.sort(np.asarray(scores_in, dtype=np.float64))
    n = len(ordered)
    if n == 0:
        raise ValueError("need held-out in-scope examples to choose a threshold")
    # Reject the lowest floor(rate * n) in-scope scores: the threshold sits midway between the
    # last rejected and the first accepted one.
    n_reject = min(int(np.floor(false_reject_rate * n + 1e-9)), n - 1)
    if n_reject == 0:
        threshold = float(ordered[0]) - 1e-6
    else:
        threshold = float((ordered[n_reject - 1] + ordered[n_reject]) / 2)
    return evaluate_threshold(threshold, scores_in, correct_in, scores_oos, _scale(ordered))


def evaluate_threshold(
    threshold: float,
    scores_in: npt.NDArray[np.float64],
    correct_in: npt.NDArray[np.bool_],
    scores_oos: npt.NDArray[np.float64],
    scale: float,
) -> OperatingPoint:
    """What ``threshold`` does on the given held-out scores."""
    import numpy as np

    accepted = np.asarray(scores_in) >= threshold
    acc = float(np.mean(accepted & np.asarray(correct_in)))
    recall = float(np.mean(np.asarray(scores_oos) < threshold)) if len(scores_oos) else None
    return OperatingPoint(threshold, scale, acc, float(np.mean(~accepted)), recall)


def _scale(scores_in: npt.NDArray[np.float64]) -> float:
    import numpy as np

    return max(float(np.std(scores_in)) / 2, 1e-3)


def fit_temperature(decisions: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]) -> float:
    """Softmax inverse temperature that minimises held-out log loss (a 1-parameter calibration)."""
    import numpy as np

    if len(labels) == 0:
        return 1.0
    best_t, best_loss = 1.0, np.inf
    for t in np.geomspace(0.1, 10.0, 41):
        z = decisions * t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -float(np.mean(logp[np.arange(len(labels)), labels]))
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return best_t
