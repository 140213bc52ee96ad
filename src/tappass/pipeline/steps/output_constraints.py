"""output_constraints: the answer must fit the shape the pipeline promises its consumers.

Checked on each choice's text (tool-call arguments are `tool_constraints`' business):

- `max_chars`: no longer than this many characters;
- `format: json`: the text parses as JSON (one surrounding Markdown code fence is allowed,
  as models add them), and with `json_schema` it validates against that JSON Schema
  (draft 2020-12, checked when the pipeline loads);
- `forbidden_patterns`: none of these regular expressions matches;
- `required_patterns`: each of these matches.

A violation blocks (`on_violation: block`, the default; observe mode records
`would_block`) or is only recorded (`flag`). Findings name the constraint and the choice,
never the answer's text. A streamed answer with any constraint set is judged whole: the
stream holds its text back until it ends (`stream_hold`), then sends it or the block.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import OutputConstraintsOptions
from tappass.pipeline.rewrite import answer_contents
from tappass.pipeline.step import Action, Decision, Finding, TextVerdict

if TYPE_CHECKING:
    from tappass.detect.scan import Scan
    from tappass.pipeline.context import Context

_FENCE = re.compile(r"\A\s*```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n?```\s*\Z", re.DOTALL)


def unfenced(text: str) -> str:
    match = _FENCE.match(text)
    return match.group("body") if match else text


class OutputConstraints:
    id = "output_constraints"
    stream_window = 0          # nothing piecewise: a constrained answer waits whole
    stream_arguments = False   # tool-call arguments are tool_constraints' business

    Options = OutputConstraintsOptions

    def __init__(self, options: OutputConstraintsOptions, services: Any) -> None:
        self._options = options
        self._forbidden = tuple(re.compile(p) for p in options.forbidden_patterns)
        self._required = tuple(re.compile(p) for p in options.required_patterns)
        self._validator = options.schema_validator()
        self._constrained = bool(options.max_chars is not None or options.format == "json"
                                 or self._validator is not None or self._forbidden
                                 or self._required)

    async def run(self, ctx: Context) -> Decision | None:
        findings: list[Finding] = []
        for index, text in enumerate(answer_contents(ctx.response)):
            findings.extend(self.check(text, f"choice {index}"))
        if not findings:
            return None
        return self._decision(findings)

    def stream_hold(self, text: str) -> int:
        return 0 if self._constrained else len(text)

    def govern_text(self, ctx: Context, scan: Scan) -> TextVerdict | None:
        """The whole streamed text (held back until its end), checked as `run` does;
        a finding with no span of its own covers the text."""
        if not self._constrained:
            return None
        per_text = tuple(tuple(replace(f, start=0, end=len(text)) if f.start is None else f
                               for f in self.check(text, "the streamed answer"))
                         for text in scan.texts)
        return TextVerdict.of(per_text, self._decision)

    def _decision(self, findings: list[Finding]) -> Decision:
        action = Action.BLOCK if self._options.on_violation == "block" else Action.FLAG
        return Decision(action, "the answer breaks the pipeline's output constraints: "
                        + findings[0].explanation, tuple(findings))

    def check(self, text: str, where: str) -> list[Finding]:
        options = self._options
        out: list[Finding] = []
        if options.max_chars is not None and len(text) > options.max_chars:
            out.append(Finding("too_long", options.max_chars, len(text), 1.0,
                               f"{where}: {len(text)} characters, at most "
                               f"{options.max_chars} allowed"))
        if options.format == "json" or self._validator is not None:
            out.extend(self._json(text, where))
        for pattern in self._forbidden:
            match = pattern.search(text)
            if match:
                out.append(Finding("forbidden_pattern", match.start(), match.end(), 1.0,
                                   f"{where}: matches forbidden pattern {pattern.pattern!r}"))
        for pattern in self._required:
            if not pattern.search(text):
                out.append(Finding("missing_pattern", None, None, 1.0,
                                   f"{where}: does not match required pattern "
                                   f"{pattern.pattern!r}"))
        return out

    def _json(self, text: str, where: str) -> list[Finding]:
        try:
            value = json.loads(unfenced(text))
        except ValueError as exc:
            return [Finding("not_json", None, None, 1.0,
                            f"{where}: not valid JSON ({str(exc).split(':')[0]})")]
        if self._validator is None:
            return []
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.path))
        if not errors:
            return []
        first = errors[0]
        path = "/".join(str(p) for p in first.absolute_path) or "(root)"
        return [Finding("schema_violation", None, None, 1.0,
                        f"{where}: JSON does not match the schema at {path}: "
                        f"{first.validator} {_short(first.validator_value)}")]


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
