"""Compatibility module: the detector lives in :mod:`safebot.redaction.detect`."""

from safebot.redaction.detect.detector import Detection, Detector, load_spacy

__all__ = ["Detection", "Detector", "load_spacy"]
