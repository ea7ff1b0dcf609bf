"""The recognizer example in docs/adapting.md works as written: in a pack and in a policy."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import yaml

from safebot.redaction import Redactor, load_policy
from safebot.redaction.recognizers.packs import build_recognizer, load_pack, pack_defines
from safebot.redaction.recognizers.spec import PackFile

ROOT = Path(__file__).resolve().parents[2]


def _doc_entry() -> str:
    doc = (ROOT / "docs" / "adapting.md").read_text()
    block = doc.split("<!-- adapting:recognizer:begin -->")[1].split("<!-- adapting:recognizer:end -->")[0]
    return re.search(r"```yaml\n(.*?)```", block, re.DOTALL).group(1)  # type: ignore[union-attr]


def test_doc_entry_is_valid_in_the_bank_pack() -> None:
    shipped = yaml.safe_load((ROOT / "src/safebot/redaction/recognizers/packs/bank.yaml").read_text())
    shipped["recognizers"] += yaml.safe_load(textwrap.dedent(_doc_entry()))
    pack = PackFile.model_validate(shipped)  # the bank pack with the entry added
    entry = pack.recognizers[-1]
    assert entry.entity == "UK_SORT_CODE" and len(pack.recognizers) == len(load_pack("bank").spec.recognizers) + 1
    rec = build_recognizer(entry, pack_defines("bank"))
    text = "order 123456 arrived yesterday, thank you. Also, my sort code is 20-00-00"
    assert [(r.entity_type, text[r.start : r.end]) for r in rec.analyze(text, ["UK_SORT_CODE"])] == [
        ("UK_SORT_CODE", "20-00-00")
    ]


def test_doc_entry_works_in_a_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "name: acme\npacks: [common, bank]\nnlp: {ner: false}\nrecognizers:\n"
        + _doc_entry()
        + "entities:\n  UK_SORT_CODE:\n    treatments:\n      customer: mask:2\n  CREDIT_CARD: {}\n"
    )
    redactor = Redactor(load_policy(policy), hmac_key=b"k" * 32)
    text = "order 123456 arrived yesterday, thank you. card 4111 1111 1111 1111, sort code 200000"
    assert redactor.redact(text).text == (
        "order 123456 arrived yesterday, thank you. card <CREDIT_CARD_1>, sort code <UK_SORT_CODE_1>"
    )
    assert redactor.redact(text, destination="customer").text.endswith("card ****1111, sort code ****00")
