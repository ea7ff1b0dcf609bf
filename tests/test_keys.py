"""Keys: where they come from, how they are stored, and erasure that reaches every conversation."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from safebot.errors import KeyProviderError
from safebot.keys import EnvKeys, KeyDirectory, provider_for

HERE = Path(__file__).resolve().parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_directory_creates_private_files_once(tmp_path: Path) -> None:
    keys = KeyDirectory(tmp_path / "keys")
    first = keys.key("master")
    assert len(first) == 32 and keys.key("master") == first
    assert mode(tmp_path / "keys") == 0o700 and mode(tmp_path / "keys" / "master.key") == 0o600
    assert not list((tmp_path / "keys").glob(".*.tmp"))


@pytest.mark.parametrize("bits", [0o644, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, bits: int) -> None:
    keys = KeyDirectory(tmp_path / "keys")
    keys.key("analytics")
    os.chmod(tmp_path / "keys" / "analytics.key", bits)
    with pytest.raises(KeyProviderError, match="chmod 600"):
        keys.key("analytics")


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir(mode=0o700)
    fd = os.open(tmp_path / "keys" / "analytics.key", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    with pytest.raises(KeyProviderError, match="empty"):
        KeyDirectory(tmp_path / "keys").key("analytics")


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    code = "import sys; from safebot.keys import KeyDirectory; sys.stdout.write(KeyDirectory(sys.argv[1]).key('analytics').decode())"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "keys")], stdout=subprocess.PIPE, text=True)
             for _ in range(6)]
    outputs = {p.communicate(timeout=60)[0] for p in procs}
    assert len(outputs) == 1 and all(len(o) >= 32 for o in outputs)


def test_environment_keys_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    value = base64.b64encode(bytes(range(32))).decode()
    monkeypatch.setenv("SAFEBOT_MASTER_KEY", value)
    monkeypatch.setenv("SAFEBOT_HMAC_KEY", "plain analytics text")
    provider = provider_for(tmp_path)
    assert provider.key("master") == bytes(range(32))
    assert provider.key("analytics") == b"plain analytics text"
    assert not (tmp_path / ".safebot" / "master.key").exists()
    monkeypatch.setenv("SAFEBOT_MASTER_KEY", "not base64!")
    with pytest.raises(KeyProviderError, match="not valid base64"):
        EnvKeys().key("master")


def test_the_key_directory_must_be_outside_the_bot_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SAFEBOT_KEY_DIR", raising=False)
    with pytest.raises(KeyProviderError, match="outside the bot directory"):
        provider_for(tmp_path, directory="keys")
    outside = tmp_path.parent / f"{tmp_path.name}-keys"
    assert provider_for(tmp_path, directory=str(outside)).key("ids")
    assert mode(outside) == 0o700 and not (tmp_path / ".safebot").exists()


def test_the_development_default_warns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for var in ("SAFEBOT_KEY_DIR", "SAFEBOT_MASTER_KEY", "SAFEBOT_IDS_KEY"):
        monkeypatch.delenv(var, raising=False)
    with caplog.at_level(logging.WARNING, logger="safebot.keys"):
        provider_for(tmp_path / "bot").key("ids")
    assert "keys are kept in the bot directory" in caplog.text


def test_a_kms_hook_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "fake_kms.py").write_text(
        "class K:\n    def key(self, name):\n        return bytes([7]) * 32\n\ndef factory(bot_dir):\n    return K()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for var in ("SAFEBOT_MASTER_KEY", "SAFEBOT_HMAC_KEY"):
        monkeypatch.delenv(var, raising=False)
    assert provider_for(tmp_path, factory="fake_kms:factory").key("master") == bytes([7]) * 32
    with pytest.raises(KeyProviderError, match="could not be loaded"):
        provider_for(tmp_path, factory="no_such_module:factory")


def test_state_directory_and_files_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safebot.engine import Bot

    for var in ("SAFEBOT_KEY_DIR", "SAFEBOT_MASTER_KEY", "SAFEBOT_HMAC_KEY"):
        monkeypatch.delenv(var, raising=False)
    bot_dir = tmp_path / "slowbank"
    shutil.copytree(HERE / "engine" / "slowbank", bot_dir)
    bot = Bot.load(bot_dir)
    try:
        bot.handle_sync("c1", "when are you open")
    finally:
        bot.close()
    state = bot_dir / ".safebot"
    assert mode(state) == 0o700
    for path in state.rglob("*"):
        if path.is_file():
            assert mode(path) & 0o077 == 0, path.name


def test_forget_reaches_conversations_that_never_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same card in an unverified chat and in a verified one: erasing the customer makes
    the unverified chat's vault unreadable too."""
    from safebot.engine import Bot

    minibank = HERE / "engine" / "minibank"
    bot_dir = tmp_path / "minibank"
    shutil.copytree(minibank, bot_dir, ignore=shutil.ignore_patterns(".safebot"))
    policy = str(HERE.parent / "examples" / "bank" / "policy.yaml")
    (bot_dir / "bot.yaml").write_text((bot_dir / "bot.yaml").read_text().replace("../../../examples/bank/policy.yaml", policy))
    bot = Bot.load(bot_dir, exporters=False)
    card = "4111 1111 1111 1111"
    try:
        bot.handle_sync("anon", f"freeze card {card}")  # never verified
        bot.handle_sync("other", "freeze card 5555 5555 5555 4444")  # someone else
        bot.handle_sync("known", f"freeze card {card}")
        bot.handle_sync("known", "check my balance")
        bot.handle_sync("known", "12/03/1984")
        bot.handle_sync("known", "4242")
        assert bot.state("known").customer_id == "C1" and bot.state("anon").customer_id is None
        with bot.store.unit_of_work() as uow:
            assert uow.vault_get(bot.conversation_ref("anon"), "<CREDIT_CARD_1>") is not None
        assert bot.forget_customer("C1") >= 3
        with bot.store.unit_of_work() as uow:
            assert uow.vault_get(bot.conversation_ref("anon"), "<CREDIT_CARD_1>") is None
            assert uow.vault_get(bot.conversation_ref("known"), "<CREDIT_CARD_1>") is None
            assert uow.vault_get(bot.conversation_ref("other"), "<CREDIT_CARD_1>") is not None  # not theirs
    finally:
        bot.close()
