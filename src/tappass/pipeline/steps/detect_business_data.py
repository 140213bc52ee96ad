"""detect_business_data: financial figures, salaries, customer counts, deal terms and
board material, plus the step's own `keywords` and `custom_patterns`.

Flags by default (the findings feed classification); `action: redact` or `block` to act.
"""

from __future__ import annotations

from typing import Any

from tappass.detect.business import business_detector
from tappass.detect.scan import Detector
from tappass.pipeline.options import BusinessDataOptions
from tappass.pipeline.steps._data_detection import DataDetectionStep


class DetectBusinessData(DataDetectionStep):
    id = "detect_business_data"
    what = "business data"

    Options = BusinessDataOptions

    def detector(self, options: Any) -> tuple[str, Detector]:
        keywords = tuple(sorted({k.strip() for k in options.keywords if k.strip()}))
        return "business:" + "|".join(keywords), business_detector(keywords)
