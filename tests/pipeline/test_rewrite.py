"""Rewriting request and answer texts by span, and the data-detection step options."""

from __future__ import annotations

from typing import Any

from tappass.pipeline.context import Context
from tappass.pipeline.options import SecretsOptions
from tappass.pipeline.rewrite import answer_texts, replace_spans, rewrite_answer
from tappass.pipeline.step import Action, Finding
from tappass.pipeline.steps.detect_secrets import DetectSecrets

TOKEN = "ghp_" + "Zq8Lm2Xv4Rt6Yb1Nc3Kd5Hf7Jg9Pw0Sa2Ue4"


def test_replace_spans_merges_overlaps() -> None:
    text = "a SECRET b"
    findings = [Finding("X", 2, 8), Finding("Y", 4, 6)]
    assert replace_spans(text, findings, lambda f: f"<{f.type}>") == "a <X> b"


def test_answer_texts_include_tool_arguments_and_rewrite_copies() -> None:
    response: dict[str, Any] = {"id": "x", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": "hi", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]}
    assert answer_texts(response) == ["hi", "{}"]
    rewritten = rewrite_answer(response, lambda i, t: f"{i}:{t}")
    assert answer_texts(rewritten) == ["0:hi", "1:{}"]
    assert answer_texts(response) == ["hi", "{}"]  # the original is untouched


def context(text: str) -> Context:
    body = {"model": "m", "messages": [{"role": "user", "content": text}]}
    return Context(audit_id="ae_1", services=None, agent=None, pipeline=None,  # type: ignore[arg-type]
                   flags={}, session_id=None, body=body)


async def test_sensitivity_low_keeps_only_certain_findings() -> None:
    text = f"token={TOKEN} password = 'hunter2x!'"
    medium = await DetectSecrets(SecretsOptions(action="flag"), None).run(context(text))
    low = await DetectSecrets(SecretsOptions(action="flag", sensitivity="low"),
                              None).run(context(text))
    assert medium is not None and low is not None
    assert [f.type for f in medium.findings] == ["GITHUB_TOKEN", "PASSWORD"]
    assert [f.type for f in low.findings] == ["GITHUB_TOKEN"]


async def test_allowlist_patterns_and_redaction_rescans() -> None:
    ctx = context(f"token={TOKEN} password = 'hunter2x!'")
    step = DetectSecrets(SecretsOptions(allowlist_patterns=["^hunter"]), None)
    decision = await step.run(ctx)
    assert decision is not None and decision.action is Action.TRANSFORM
    assert ctx.body["messages"][0]["content"] == \
        "token=[REDACTED:GITHUB_TOKEN] password = 'hunter2x!'"
    assert await step.run(ctx) is None  # the scan was rebuilt over the redacted text
