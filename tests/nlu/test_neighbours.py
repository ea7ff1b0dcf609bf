"""8-bit k-NN similarity against the exact float computation."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from safebot.nlu.neighbours import DenseNeighbours
from safebot.nlu.oos import knn_similarity


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    # Clustered like sentence embeddings: neighbours are close, the rest far.
    centres = rng.normal(size=(20, 384))
    refs = _unit(np.repeat(centres, 50, axis=0) + 0.6 * rng.normal(size=(1000, 384)))
    queries = _unit(centres[rng.integers(0, 20, 64)] + 0.8 * rng.normal(size=(64, 384)))
    return refs, queries


@pytest.mark.parametrize("k", [1, 5, 20])
def test_close_to_exact_similarity(data: tuple[np.ndarray, np.ndarray], k: int) -> None:
    refs, queries = data
    exact = knn_similarity(queries, refs, k)
    got = DenseNeighbours.build(refs)(queries, k)
    assert got.shape == exact.shape == (64,)
    assert np.abs(got - exact).max() < 0.005
    assert np.corrcoef(got, exact)[0, 1] > 0.999  # the ordering of queries is kept


def test_a_row_does_not_depend_on_its_batch(data: tuple[np.ndarray, np.ndarray]) -> None:
    refs, queries = data
    knn = DenseNeighbours.build(refs)
    together = knn(queries, 5)
    alone = np.concatenate([knn(queries[i : i + 1], 5) for i in range(len(queries))])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    assert knn(queries[:0], 5).shape == (0,)
    # The saved graph rebuilds the same index without the onnx package.
    again = DenseNeighbours(knn.graph)
    assert (again.dim, again.size) == (384, 1000)
    np.testing.assert_array_equal(again(queries, 5), together)


def test_k_larger_than_the_references_and_bad_input() -> None:
    refs = _unit(np.eye(3, 8) + 0.01)
    assert DenseNeighbours.build(refs)(refs, 10).shape == (3,)
    with pytest.raises(ValueError):
        DenseNeighbours.build(np.zeros((0, 8), dtype=np.float32))
