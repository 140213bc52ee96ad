"""validate_input: blocks requests beyond the pipeline's size and shape limits.

Malformed requests (no `messages`, wrong types) are rejected with a 400 before the pipeline
runs; this step applies policy limits to well-formed ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tappass.clip import clip
from tappass.pipeline.options import ValidateInputOptions
from tappass.pipeline.step import Action, Decision

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


class ValidateInput:
    id = "validate_input"

    Options = ValidateInputOptions

    def __init__(self, options: ValidateInputOptions, services: Any) -> None:
        self.options = options
        self._roles = frozenset(options.allowed_roles)

    async def run(self, ctx: Context) -> Decision | None:
        opts = self.options
        messages = ctx.body["messages"]
        if len(messages) > opts.max_messages:
            return _block(f"{len(messages)} messages exceed the limit of {opts.max_messages}")
        for i, message in enumerate(messages):
            if message.get("role") not in self._roles:
                return _block(f"messages[{i}].role {clip(message.get('role'))} is not allowed")
        texts = ctx.texts()
        size = sum(map(len, texts))
        if size > opts.max_input_chars:
            return _block(f"input of {size} characters exceeds the limit of "
                          f"{opts.max_input_chars}")
        if opts.block_null_bytes and any("\x00" in text for text in texts):
            return _block("input contains NUL characters")
        return self._check_output_tokens(ctx.body)

    def _check_output_tokens(self, body: dict[str, Any]) -> Decision | None:
        limit = self.options.max_output_tokens
        asked = body.get("max_completion_tokens") or body.get("max_tokens")
        if limit is not None and isinstance(asked, int) and asked > limit:
            return _block(f"max_tokens {asked} exceeds the limit of {limit}")
        return None


def _block(reason: str) -> Decision:
    return Decision(Action.BLOCK, f"invalid input: {reason}")
