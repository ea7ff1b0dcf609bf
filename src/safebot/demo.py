"""The README's main job: the bank example bot on a scripted conversation.

``./dev demo`` runs this. For each turn it shows, side by side, what the customer typed,
what the bot answered (after outbound redaction), and what the transcript stored, read back
from the bot's own SQLite store in ``examples/bank/.safebot/``.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOT_DIR = ROOT / "examples" / "bank"
SCRIPT = BOT_DIR / "demo_conversation.txt"


def _columns(cells: list[str], width: int) -> list[str]:
    wrapped = [textwrap.wrap(c, width) or [""] for c in cells]
    rows = max(len(w) for w in wrapped)
    return [" | ".join(f"{(w[i] if i < len(w) else ''):<{width}}" for w in wrapped).rstrip() for i in range(rows)]


def main(argv: list[str] | None = None) -> None:
    from safebot.engine import Bot

    args = sys.argv[1:] if argv is None else argv
    bot_dir = Path(args[0]) if args else BOT_DIR
    script = Path(args[1]) if len(args) > 1 else bot_dir / "demo_conversation.txt"
    lines = [
        line.strip()
        for line in script.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    out = sys.stdout
    out.write(f"Loading {bot_dir} (first run trains the intent model)...\n")
    out.flush()
    bot = Bot.load(bot_dir)
    cid = f"demo-{uuid.uuid4().hex[:8]}"
    width = max(30, (min(shutil.get_terminal_size((150, 20)).columns, 180) - 6) // 3)
    out.write("\n".join(_columns(["CUSTOMER TYPED", "BOT ANSWERED", "TRANSCRIPT STORED"], width)) + "\n")
    out.write("-" * (width * 3 + 6) + "\n")
    try:
        for line in lines:
            before = len(bot.transcript(cid))
            result = bot.handle_sync(cid, line, channel="demo")
            rows = bot.transcript(cid)[before:]
            stored = [r["text"] for r in rows if r.get("kind") in ("user", "bot") and r.get("text")]
            answered = " / ".join(result.replies)
            out.write("\n".join(_columns([line, answered, " / ".join(stored)], width)) + "\n\n")
    finally:
        bot.close()
    out.write(f"Conversation {cid} is stored (redacted) in {bot_dir / '.safebot' / 'safebot.sqlite3'}.\n")
    out.write(f"Interactive version: safebot chat {bot_dir.relative_to(ROOT) if bot_dir.is_relative_to(ROOT) else bot_dir}\n")


if __name__ == "__main__":
    main()
