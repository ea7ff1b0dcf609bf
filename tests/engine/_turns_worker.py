"""Run turns in a process of its own: ``python _turns_worker.py BOT_DIR CID:TEXT ...``.

Prints one JSON line per turn (the replies) and exits 0, or prints the error type and exits 1.
Used by the cross-process concurrency tests.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from safebot.engine import Bot


def main() -> int:
    bot = Bot.load(sys.argv[1], exporters=False)
    wait_for = os.environ.get("WORKER_WAIT_FOR")
    if wait_for:  # start the turns only once another process is inside its handler
        deadline = time.monotonic() + 120
        while not Path(wait_for).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    failed = 0
    try:
        for item in sys.argv[2:]:
            cid, _, text = item.partition(":")
            try:
                result = bot.handle_sync(cid, text)
                print(json.dumps({"cid": cid, "replies": list(result.replies)}), flush=True)
            except Exception as exc:
                failed += 1
                print(json.dumps({"cid": cid, "error": type(exc).__name__}), flush=True)
    finally:
        bot.close()
    print(json.dumps({"finished": time.time()}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
