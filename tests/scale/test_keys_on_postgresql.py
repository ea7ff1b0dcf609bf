"""``safebot keys create`` on a bot whose store is a PostgreSQL schema: the key lands in that
schema, where ``safebot serve`` looks it up (it once went to the default schema, so every
request of a freshly set-up PostgreSQL deployment was a 401)."""

from __future__ import annotations

from pathlib import Path

import pytest

from safebot.engine.config import load_bot_config
from safebot.serve.auth import verify_key
from safebot.stores import SqlStore


def test_keys_land_in_the_bots_schema(pausebot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from safebot.cli import main

    with pytest.raises(SystemExit) as done:
        main(["keys", "create", str(pausebot), "--name", "app"])
    assert done.value.code in (0, None)
    key = capsys.readouterr().out.strip()
    config = load_bot_config(pausebot)
    store = SqlStore.for_bot_dir(pausebot, url=config.store.url, schema=config.store.schema_name)
    try:
        found = verify_key(store, key)
        assert found is not None and found.name == "app"
    finally:
        store.close()
