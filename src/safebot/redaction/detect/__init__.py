"""Detection: the detector, spaCy NER and the result cache."""

from safebot.redaction.detect.detector import Detection, Detector, load_spacy

__all__ = ["Detection", "Detector", "load_spacy"]
