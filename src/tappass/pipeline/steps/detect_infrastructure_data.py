"""detect_infrastructure_data: private IPs, internal hostnames (also under the step's
`internal_domains`), cloud ARNs and resource ids, Kubernetes objects, connection strings.

Flags by default; `action: redact` or `block` to act.
"""

from __future__ import annotations

from typing import Any

from tappass.detect.infrastructure import infrastructure_detector
from tappass.detect.scan import Detector
from tappass.pipeline.options import InfrastructureOptions
from tappass.pipeline.steps._data_detection import DataDetectionStep


class DetectInfrastructureData(DataDetectionStep):
    id = "detect_infrastructure_data"
    what = "infrastructure detail"

    Options = InfrastructureOptions

    def detector(self, options: Any) -> tuple[str, Detector]:
        domains = tuple(sorted({d.strip().lower().strip(".") for d in options.internal_domains
                                if d.strip(" .")}))
        return "infrastructure:" + "|".join(domains), infrastructure_detector(domains)
