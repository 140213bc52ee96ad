"""output_deduplication: answers that loop, or repeat an earlier answer of the session.

Two findings:

- `looping_output`: a phrase of 1-12 words repeated back to back at least `max_repeats`
  times (single words twice as often) over at least 40 characters: a model stuck in a loop,
  or made to spin by an injected instruction;
- `repeated_answer`: the same answer (case and spacing ignored) as one of the last `window`
  answers in the session (`X-Session-Id`): an agent going round in circles. Only the
  answers' SHA-256 digests are kept, in the shared state, for the session's lifetime.

Both are flagged by default; `action: block` blocks instead.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from tappass.detect.repetition import find_loop
from tappass.pipeline.options import DedupOptions
from tappass.pipeline.rewrite import answer_contents
from tappass.pipeline.step import Action, Decision, Finding

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


def answer_digest(text: str) -> str:
    folded = " ".join(text.lower().split())
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class OutputDeduplication:
    id = "output_deduplication"

    Options = DedupOptions

    def __init__(self, options: DedupOptions, services: Any) -> None:
        self._options = options

    async def run(self, ctx: Context) -> Decision | None:
        texts = [t for t in answer_contents(ctx.response) if t.strip()]
        findings = [f for index, text in enumerate(texts)
                    if (f := self._loop(text, f"choice {index}")) is not None]
        findings.extend(await self._repeated(ctx, texts))
        if not findings:
            return None
        action = Action.BLOCK if self._options.action == "block" else Action.FLAG
        return Decision(action, findings[0].explanation, tuple(findings))

    def _loop(self, text: str, where: str) -> Finding | None:
        loop = find_loop(text, self._options.max_repeats)
        if loop is None:
            return None
        return Finding("looping_output", loop.start, loop.end, 0.9,
                       f"{where}: a {loop.period}-word phrase repeated {loop.repeats} times "
                       "in a row")

    async def _repeated(self, ctx: Context, texts: list[str]) -> list[Finding]:
        if not texts or not ctx.session.supplied:
            return []
        digests = [answer_digest(t) for t in texts]
        earlier = await ctx.session.remember_answers(digests, self._options.window)
        return [Finding("repeated_answer", None, None, 0.8,
                        f"choice {index}: the same answer as one of the session's last "
                        f"{self._options.window}")
                for index, digest in enumerate(digests) if digest in earlier]
