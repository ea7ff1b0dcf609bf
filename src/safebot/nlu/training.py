"""Training and the model store: a bot's intent model lives in BOT_DIR/.safebot/, retrained
when nlu.yml or the NLU settings change.

>>> clf = load_or_train(Path("examples/bank"), config)     # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from safebot.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine.config import BotConfig
    from safebot.nlu.classifier import IntentClassifier

__all__ = ["load_or_train", "model_dir", "nlu_fingerprint", "train_bot"]


def nlu_fingerprint(bot_dir: Path, config: BotConfig) -> str:
    """Hash of what the model is trained from: retrain when nlu.yml or the settings change."""
    from safebot.nlu.encoder import DEFAULT_PRECISION, encoder_name

    h = hashlib.sha256((bot_dir / config.nlu.data).read_bytes())
    h.update(config.nlu.encoder.encode())
    # A model trained with another encoder build retrains onto the current one.
    h.update(encoder_name(DEFAULT_PRECISION).encode())
    return h.hexdigest()[:16]


def model_dir(bot_dir: Path) -> Path:
    """Where the trained intent model lives."""
    return bot_dir / ".safebot" / "intent-model"


def _stamp(bot_dir: Path) -> Path:
    return bot_dir / ".safebot" / "intent-model.fingerprint"


def train_bot(bot_dir: Path, config: BotConfig | None = None) -> IntentClassifier:
    """Train the intent classifier from nlu.yml into BOT_DIR/.safebot/ (a 0700 directory)."""
    from safebot.engine.config import load_bot_config
    from safebot.nlu import IntentClassifier
    from safebot.nlu.training_data import load_nlu_yaml

    config = config or load_bot_config(bot_dir)
    data = load_nlu_yaml(bot_dir / config.nlu.data)
    clf = IntentClassifier.train(data.intent_examples(), out_of_scope=data.out_of_scope, encoder=config.nlu.encoder)
    target = model_dir(bot_dir)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(target.parent, 0o700)
    clf.save(target)
    stamp = _stamp(bot_dir)
    stamp.write_text(nlu_fingerprint(bot_dir, config))
    os.chmod(stamp, 0o600)
    return clf


def load_or_train(bot_dir: Path, config: BotConfig, *, train_if_missing: bool = True) -> IntentClassifier:
    """The trained model if it matches nlu.yml and the settings; else train it (or refuse)."""
    from safebot.nlu import IntentClassifier

    target = model_dir(bot_dir)
    stamp = _stamp(bot_dir)
    if stamp.exists() and target.exists() and stamp.read_text() == nlu_fingerprint(bot_dir, config):
        return IntentClassifier.load(target, encoder=config.nlu.encoder)
    if not train_if_missing:
        raise ConfigError(f"no trained model; run 'safebot train {bot_dir}'", path=str(target))
    return train_bot(bot_dir, config)
