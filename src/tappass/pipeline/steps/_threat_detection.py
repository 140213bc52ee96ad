"""What the text-based threat-detection steps share: which texts, which score, which action.

A step names its detector (a pure function in `tappass.detect.threats`) and, per role of
the message a text comes from, the lowest score that counts (None: the role is not
scanned). Before the call the texts are the request's (the shared scan; roles `system`,
`developer`, `user`, `tool`, `function`, `assistant`); after it, the answer's (its content
as `assistant`, its tool-call arguments as `tool_call`). Findings at or above the score,
and not on the allowlist, block the request (`action: block`, the default in every
preset, as for detect_prompt_injection) or are recorded (`action: flag`). Findings carry
the text index and role, the type, span and score, never the matched text. A streamed
answer is governed as it passes (`GovernsText`): each held-back piece is checked as a text
of its own, a link or URL still being written is held until it ends, and a block ends the
stream before the rest is sent.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from tappass.detect.scan import Detector, Scan
from tappass.pipeline.step import Action, Decision, Finding, TextVerdict
from tappass.pipeline.steps._data_detection import answer_scan
from tappass.pipeline.steps.detect_prompt_injection import aligned_roles

if TYPE_CHECKING:
    from tappass.pipeline.context import Context

THRESHOLDS: dict[str, float] = {"low": 0.9, "medium": 0.75, "high": 0.5}


def answer_roles(response: dict[str, Any], count: int) -> list[str]:
    """The role of each of the answer scan's `count` texts (`assistant` for content,
    `tool_call` for arguments); every text counts as a tool call if they do not line up."""
    roles: list[str] = []
    for choice in response.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("content"), str):
            roles.append("assistant")
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                roles.append("tool_call")
    return roles if len(roles) == count else ["tool_call"] * count


def located(finding: Finding, where: str) -> Finding:
    return Finding(finding.type, finding.start, finding.end, finding.score,
                   f"{where}: {finding.explanation}")


# a markdown link or image, or a URL, still being written at the end of streamed text
_OPEN_LINK = re.compile(r"(?:!?\[[^\]\n]{0,300}\]\(|\bhttps?://|\bwww\.)[^\s)\"'<>]*\Z")
_LINK_REACH = 4096


def stream_role(text: str) -> str:
    """A streamed text's role: a tool call's arguments are a JSON document."""
    return "tool_call" if text.lstrip()[:1] in ("{", "[") else "assistant"


def decide(what: str, action: str, hits: list[Finding], side: str) -> Decision | None:
    """Block or flag on `hits` (strongest first); None when there are none."""
    if not hits:
        return None
    ordered = tuple(sorted(hits, key=lambda f: -f.score))
    best = ordered[0]
    place = best.explanation.split(":", 1)[0]
    reason = f"{what} detected in the {side}: {best.type} (score {best.score:.2f}) in {place}"
    return Decision(Action.BLOCK if action == "block" else Action.FLAG, reason, ordered)


class ThreatStep(ABC):
    id: ClassVar[str]
    what: ClassVar[str]          # "shell command", "privilege escalation", ...

    def __init__(self, options: Any, services: Any) -> None:
        self.options = options
        self.threshold = THRESHOLDS[options.sensitivity]
        self._allowed = frozenset(options.allowlist)
        self._patterns = tuple(re.compile(p) for p in options.allowlist_patterns)
        self._name, self._detector = self.detector(options)

    @abstractmethod
    def detector(self, options: Any) -> tuple[str, Detector]:
        """The scan name and the detector this step reads (built once per step)."""

    def floor(self, role: str) -> float | None:
        """The lowest score that counts in a text of this role; None: not scanned."""
        return None if role == "assistant" else self.threshold

    def extra(self, ctx: Context) -> list[Finding]:
        """Findings in request parts the shared scan does not hold (default: none)."""
        return []

    stream_window = 256         # a finding's span; an open link is held until it ends
    stream_arguments = True

    async def run(self, ctx: Context) -> Decision | None:
        answer = ctx.response is not None or ctx.chunks is not None
        if answer:
            scan = answer_scan(ctx)
            if scan is None:
                return None   # a stream: governed as it passed (govern_text)
            assert ctx.response is not None
            roles = answer_roles(ctx.response, len(scan.texts))
            hits = self.answer_hits(ctx, scan, roles)
        else:
            scan = ctx.request_scan()
            roles = aligned_roles(ctx.body["messages"], len(scan.texts))
            hits = self.scanned(scan, roles, "text") + self.extra(ctx)
        return decide(self.what, self.options.action, hits,
                      "answer" if answer else "request")

    def answer_hits(self, ctx: Context, scan: Scan, roles: list[str]) -> list[Finding]:
        """The findings in the answer's texts (spans in each text)."""
        return self.scanned(scan, roles, "answer")

    def stream_hold(self, text: str) -> int:
        match = _OPEN_LINK.search(text, max(0, len(text) - _LINK_REACH))
        return match.start() if match else len(text)

    def govern_text(self, ctx: Context, scan: Scan) -> TextVerdict | None:
        """The answer check on streamed pieces, each piece a text of its own."""
        per_text = tuple(tuple(self.answer_hits(ctx, Scan([text]), [stream_role(text)]))
                         for text in scan.texts)
        return TextVerdict.of(per_text, lambda hits: decide(self.what, self.options.action,
                                                            hits, "answer"))

    def scanned(self, scan: Scan, roles: list[str], label: str) -> list[Finding]:
        hits: list[Finding] = []
        per_text = scan.findings(self._name, self._detector)
        for index, (role, text, findings) in enumerate(
                zip(roles, scan.texts, per_text, strict=True)):
            floor = self.floor(role)
            if floor is None or not findings:
                continue
            hits.extend(located(f, f"{label} {index} ({role})") for f in findings
                        if f.score >= floor and self.counts(f) and not self.exempt(text, f))
        return hits

    def counts(self, finding: Finding) -> bool:
        """Whether a finding of the detector matters to this step (default: all do)."""
        return True

    def exempt(self, text: str, finding: Finding) -> bool:
        if not (self._allowed or self._patterns) or finding.start is None:
            return False
        value = text[finding.start:finding.end]
        return value in self._allowed or any(p.fullmatch(value) for p in self._patterns)
