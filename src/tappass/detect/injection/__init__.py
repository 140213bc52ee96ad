"""Prompt-injection and jailbreak detection: rules, structure cues, a small linear model
shipped as package data, and decoding of hidden payloads (see detector.py)."""

from tappass.detect.injection.detector import (
    InjectionDetector,
    detect_injection,
    load_detector,
    top_score,
)

__all__ = ["InjectionDetector", "detect_injection", "load_detector", "top_score"]
