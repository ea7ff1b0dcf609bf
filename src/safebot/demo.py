"""The README's main job: the bank example's sample conversation, before and after redaction.

``./dev demo`` runs this. Once the example bots exist it runs the bank bot instead
(see :mod:`safebot.demo` history in the README).
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    from safebot.redaction import Redactor, load_policy

    bot_dir = ROOT / "examples" / "bank"
    lines = [
        line
        for line in (bot_dir / "sample_conversation.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    redactor = Redactor(load_policy(bot_dir / "policy.yaml"), hmac_key=b"demo-key-not-secret")
    width = min(shutil.get_terminal_size((120, 20)).columns, 140)
    col = (width - 7) // 2
    out = sys.stdout
    out.write(f"{'customer typed':<{col}} | {'transcript stores':<{col}}\n{'-' * width}\n")
    for line in lines:
        stored = redactor.redact(line, destination="transcript").text
        left = textwrap.wrap(line, col) or [""]
        right = textwrap.wrap(stored, col) or [""]
        for i in range(max(len(left), len(right))):
            a = left[i] if i < len(left) else ""
            b = right[i] if i < len(right) else ""
            out.write(f"{a:<{col}} | {b}\n")
        out.write("\n")


if __name__ == "__main__":
    main()
