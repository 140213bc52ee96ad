"""detect_prompt_injection (alias detect_injection): blocks prompt injection and jailbreaks.

Which texts are scanned, by the role of their message: `user`, `tool` and `function`
content always (tool results and retrieved documents are where indirect injection hides),
`system` and `developer` prompts unless allowlisted, `assistant` turns never (the model's
own words). A system or developer prompt is allowlisted by the SHA-256 of its UTF-8 bytes
(`allowlist_hashes`, so an agent's own system prompt stops tripping the step), by being
exactly one of `allowlist`, or by fully matching one of `allowlist_patterns`; user and tool
content is scanned whatever the allowlist says.

The detector runs once per scanned text on the request's shared normalised scan; text
hidden in Unicode tag characters (dropped by normalisation) is decoded from the original
and scanned too. The request is blocked when the highest finding score reaches the
sensitivity's threshold (or `threshold`). Findings name the message, the technique and the
score; they never carry the prompt text.

With the LLM judge on (`TAPPASS_LLM_JUDGE_ENABLED`, see `tappass.judge`) and the step's
`llm_judge` option left true, texts the detector is unsure of are sent to the judge when
nothing else blocks; an `INJECTION` answer is an `llm_judge` finding that blocks. A judge
that fails keeps the detector's verdict and flags `llm_judge_failed`, or blocks with
`TAPPASS_LLM_JUDGE_ON_FAILURE=block`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tappass.detect.injection import InjectionDetector, load_detector, top_score
from tappass.detect.injection.decode import tag_payload
from tappass.detect.injection.detector import FLOOR, THRESHOLDS
from tappass.pipeline.adaptive import tightened
from tappass.pipeline.options import InjectionOptions
from tappass.pipeline.step import Action, Decision, Finding

if TYPE_CHECKING:
    from tappass.detect.normalize import NormalizedText
    from tappass.judge import LlmJudge
    from tappass.pipeline.context import Context

SCANNED_ROLES = frozenset({"user", "tool", "function", "system", "developer"})
ALLOWLISTABLE_ROLES = frozenset({"system", "developer"})


def prompt_hash(text: str) -> str:
    """The allowlist hash of a prompt: SHA-256 hex of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_roles(messages: list[dict[str, Any]]) -> Iterator[str]:
    """The role of each text `Context.texts()` yields, in the same order."""
    for message in messages:
        role = str(message.get("role", ""))
        content = message.get("content")
        if isinstance(content, str):
            yield role
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    yield role


def aligned_roles(messages: list[dict[str, Any]], count: int) -> list[str]:
    """The role of each of the scan's `count` texts; if the scan's texts no longer line up
    with the messages' text parts, every text is treated as `user` (scanned, fail safe)."""
    roles = list(text_roles(messages))
    return roles if len(roles) == count else ["user"] * count


class DetectPromptInjection:
    id = "detect_prompt_injection"

    Options = InjectionOptions

    def __init__(self, options: InjectionOptions, services: Any) -> None:
        self._detector: InjectionDetector = load_detector()
        self._threshold = (options.threshold if options.threshold is not None
                           else THRESHOLDS[options.sensitivity])
        self._hashes = frozenset(h.lower().removeprefix("sha256:")
                                 for h in options.allowlist_hashes)
        self._exact = frozenset(options.allowlist)
        self._patterns = tuple(re.compile(p) for p in options.allowlist_patterns)
        judge = getattr(services, "judge", None)
        self._judge: LlmJudge | None = judge if options.llm_judge else None

    async def run(self, ctx: Context) -> Decision | None:
        scan = ctx.request_scan()
        threshold = tightened(ctx, self._threshold)
        findings: list[Finding] = []
        unsure: list[tuple[str, str]] = []      # (text, where) to ask the judge about
        roles = aligned_roles(ctx.body["messages"], len(scan.texts))
        for index, (role, norm) in enumerate(zip(roles, scan.normalized, strict=True)):
            if role not in SCANNED_ROLES or (
                    role in ALLOWLISTABLE_ROLES and self._allowlisted(norm.original)):
                continue
            where = f"text {index} ({role})"
            found = self._scan(norm, where)
            findings.extend(found)
            if self._judge is not None and norm.original.strip() and self._judge.wants(
                    top_score(found), FLOOR, threshold):
                unsure.append((norm.original, where))
        hits = [f for f in findings if f.score >= threshold]
        if not hits and unsure:
            return await self._ask_judge(unsure)
        return self._block(hits)

    async def _ask_judge(self, unsure: list[tuple[str, str]]) -> Decision | None:
        assert self._judge is not None
        judge = self._judge
        answers = await asyncio.gather(*(judge.injection(text) for text, _ in unsure))
        hits: list[Finding] = []
        failures: list[Finding] = []
        for (_, where), answer in zip(unsure, answers, strict=True):
            if answer.verdict == "injection":
                hits.append(Finding("llm_judge", None, None, max(0.9, self._threshold),
                                    f"{where}: the LLM judge ({answer.model}) classified "
                                    "the text as prompt injection"))
            elif answer.verdict == "failed":
                failures.append(Finding(
                    "llm_judge_failed", None, None,
                    1.0 if judge.fail_closed else 0.0,
                    f"{where}: the LLM judge ({answer.model}) failed: {answer.detail}"))
        if hits or (failures and judge.fail_closed):
            return self._block(hits + failures)
        if failures:
            return Decision(Action.FLAG, "the LLM judge failed; the detector's verdict "
                            "stands", tuple(failures))
        return None

    def _block(self, hits: list[Finding]) -> Decision | None:
        if not hits:
            return None
        best = max(hits, key=lambda f: f.score)
        return Decision(Action.BLOCK, f"prompt injection detected: {best.type} "
                        f"(score {best.score:.2f}) in {best.explanation.split(':', 1)[0]}",
                        tuple(sorted(hits, key=lambda f: -f.score)))

    def _allowlisted(self, text: str) -> bool:
        if text in self._exact or any(p.fullmatch(text) for p in self._patterns):
            return True
        return bool(self._hashes) and prompt_hash(text) in self._hashes

    def _scan(self, norm: NormalizedText, where: str) -> list[Finding]:
        out = [_located(norm, finding, where) for finding in self._detector(norm.text)]
        hidden = tag_payload(norm.original)
        if hidden is not None:
            inner = self._detector(hidden)
            if inner:
                out.append(Finding("encoded_injection", None, None, top_score(inner),
                                   f"{where}: text hidden in Unicode tag characters"))
        return out


def _located(norm: NormalizedText, finding: Finding, where: str) -> Finding:
    start, end = finding.start, finding.end
    if start is not None and end is not None:
        start, end = norm.original_span(start, end)
    return Finding(finding.type, start, end, finding.score, f"{where}: {finding.explanation}")
