"""One turn in a process of its own: ``python _turn_process.py BOT_DIR CID TEXT``.

Logs safebot's warnings to stderr (the test reads the engine's "retrying from fresh state"),
prints the replies as one JSON line, exits 0; or prints the error type and exits 1.
"""

from __future__ import annotations

import json
import logging
import sys

from safebot.engine import Bot


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    bot = Bot.load(sys.argv[1], exporters=False)
    try:
        result = bot.handle_sync(sys.argv[2], sys.argv[3])
    except Exception as exc:  # reported to the test
        print(json.dumps({"error": type(exc).__name__}), flush=True)
        return 1
    finally:
        bot.close()
    print(json.dumps({"replies": list(result.replies)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
