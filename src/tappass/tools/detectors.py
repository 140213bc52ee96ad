"""Detectors other modules provide, plugged into the tool scans by name.

Each name maps to a "module:attr" string, imported on first use (a class is instantiated
with no arguments, a function is used as it is). A detector whose module is not installed
in this version is reported as unavailable instead of being silently skipped, so a scan that
could not look for personal data says so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache

from tappass.pipeline.step import Finding

TextDetector = Callable[[str], list[Finding]]

# name -> where the detector lives, and the finding type the tool scans report
NAMED: dict[str, tuple[str, str]] = {
    "pii": ("tappass.detect.pii:PiiDetector", "pii_detected"),
    "secrets": ("tappass.detect.secrets:detect_secrets", "secret_detected"),
    "injection": ("tappass.detect.injection:detect_injection", "injection_detected"),
}


@cache
def named_detector(name: str) -> TextDetector | None:
    """The detector called `name`, or None when its implementation is not installed."""
    module_name, _, attr = NAMED[name][0].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return None
        raise
    target = getattr(module, attr, None)
    if target is None:
        return None
    detector: TextDetector = target() if isinstance(target, type) else target
    return detector


def finding_type(name: str) -> str:
    return NAMED[name][1]
