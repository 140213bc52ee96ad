"""pii_restore: the values `pii_tokenization` took out, put back into the answer.

Runs after the call when the `pii` flag is `tokenize`. Every token issued in the session is
replaced by its value in each choice's content and in tool-call arguments (written as JSON
string content there, so the arguments stay valid JSON); the agent never sees a token. A
token that was not issued in this session (or no longer opens) is left as it is and
recorded as an `UNKNOWN_TOKEN` finding (span in that text, never the value).

Streams: `restore_lookup(ctx)` loads the session's tokens once; `TokenStream` (see
`tappass.pipeline.tokens`) then restores chunk by chunk, holding back a possibly split token.
The streaming path does not call them yet: until it does, a streamed answer reaches the
agent with its tokens (the provider still never sees a value), and this step records a
`flag` saying so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tappass.pipeline.options import NoOptions
from tappass.pipeline.rewrite import answer_parts, rewrite_answer
from tappass.pipeline.step import Action, Decision, Finding
from tappass.pipeline.token_vault import mapping_key, token_vault
from tappass.pipeline.tokens import TOKEN_RE, Lookup, restore_tokens

if TYPE_CHECKING:
    from tappass.pipeline.context import Context


def json_escape(value: str) -> str:
    """`value` as the inside of a JSON string."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


async def session_values(ctx: Context, tokens: set[str] | None = None) -> dict[str, str]:
    """token -> value for the session's tokens (all of them when `tokens` is None)."""
    vault = token_vault(ctx.services.settings)
    key = mapping_key(ctx.agent.name, ctx.session_id)
    if tokens is None:
        tokens = set(await ctx.services.kv.hash_get(key))
    return await vault.values(ctx.services.kv, f"{ctx.agent.name}:{ctx.session_id}", key,
                              tokens)


async def restore_lookup(ctx: Context) -> Lookup:
    """The lookup a stream restores with: every token of the session, loaded once."""
    return (await session_values(ctx)).get


class PiiRestore:
    id = "pii_restore"

    Options = NoOptions

    def __init__(self, options: NoOptions, services: Any) -> None:
        self.options = options

    async def run(self, ctx: Context) -> Decision | None:
        if ctx.flags.get("pii") != "tokenize":
            return None
        if ctx.response is None:
            return Decision(Action.FLAG, "streamed answer: its tokens are not restored in "
                            "this version (the provider saw no values)")
        parts = answer_parts(ctx.response)
        seen = {m.group(0) for text, _ in parts for m in TOKEN_RE.finditer(text)}
        if not seen:
            return None
        values = await session_values(ctx, seen)
        unknown = tuple(Finding("UNKNOWN_TOKEN", m.start(), m.end(), 1.0,
                                "a token that was not issued in this session")
                        for text, _ in parts for m in TOKEN_RE.finditer(text)
                        if m.group(0) not in values)
        if len(unknown) == sum(len(TOKEN_RE.findall(text)) for text, _ in parts):
            return Decision(Action.FLAG, f"{len(unknown)} unknown token(s) left as they are",
                            unknown)

        def rewrite(index: int, text: str) -> str:
            escape = json_escape if parts[index][1] else None
            return restore_tokens(text, values.get, escape)

        ctx.response = rewrite_answer(ctx.response, rewrite)
        ctx.response_bytes = None
        reason = f"restored {len(values)} token(s) in the answer"
        if unknown:
            reason += f"; {len(unknown)} unknown token(s) left as they are"
        return Decision(Action.TRANSFORM, reason, unknown)
